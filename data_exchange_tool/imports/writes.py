"""
Writes: a validated batch into the target table.

New rows are created with one ``bulk_create`` per batch, changed rows updated with one
``bulk_update`` of the changed fields; unchanged rows are not written. Each written instance is
then handed to the job type's ``after_import_row`` hook.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

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

    def write(self, outcomes: list[RowOutcome]) -> None:
        """Create the new rows and update the changed ones, one query each per batch."""
        manager = self.model._default_manager
        created = [o for o in outcomes if o.action == RowAction.NEW]
        updated = [o for o in outcomes if o.action == RowAction.UPDATE]
        if created:
            manager.bulk_create([o.instance for o in created])
        if updated:
            fields = sorted({name for o in updated for name in o.changes})
            for outcome in updated:
                for name in outcome.changes:
                    setattr(outcome.instance, name, (outcome.validated or {})[name])
            manager.bulk_update([o.instance for o in updated], fields)
        for outcome in itertools.chain(created, updated):
            self.job.after_import_row(outcome.instance, outcome.row_number, outcome.action)
