"""
Writes: a validated batch into the target table.

New rows are created with one ``bulk_create`` per batch, changed rows updated with one
``bulk_update`` of the changed fields; unchanged rows are not written, and a row whose only
changes are its many-to-many relations updates no column. The relations of the saved rows are
then written per field in bulk (``relations.ManyRelations``). Each written instance is then
handed to the job type's ``after_import_row`` hook.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from data_exchange_tool.imports.relations import ManyRelations
from data_exchange_tool.states import RowAction

if TYPE_CHECKING:
    from django.db import models

    from data_exchange_tool.imports.outcomes import RowOutcome
    from data_exchange_tool.models import ImportJob


class BatchWriter:
    """Write the new and changed rows of each batch into the job type's target."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.model: type[models.Model] = job.get_target_model()
        serializer = job.get_serializer()
        writable = {name: f for name, f in serializer.fields.items() if not f.read_only}
        self.relations = ManyRelations(self.model, writable)

    def write(self, outcomes: list[RowOutcome]) -> None:
        """Create the new rows and update the changed ones, one query each per batch."""
        manager = self.model._default_manager
        created = [o for o in outcomes if o.action == RowAction.NEW]
        updated = [o for o in outcomes if o.action == RowAction.UPDATE]
        changed = [o for o in updated if o.changes]
        if created:
            manager.bulk_create([o.instance for o in created])
        if changed:
            fields = sorted({name for o in changed for name in o.changes})
            for outcome in changed:
                for name in outcome.changes:
                    setattr(outcome.instance, name, (outcome.validated or {})[name])
            manager.bulk_update([o.instance for o in changed], fields)
        self.relations.write_outcomes(itertools.chain(created, updated))
        for outcome in itertools.chain(created, updated):
            self.job.after_import_row(outcome.instance, outcome.row_number, outcome.action)
