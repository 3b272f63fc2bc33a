"""
Uniqueness per batch: the serializer's unique validators, checked once per batch.

DRF's ``UniqueValidator`` and ``UniqueTogetherValidator`` query the database once per row.
``take_unique_validators`` takes them off the run's serializer and returns the sets of fields they
guard (``UniqueSet``); ``UniqueCheck`` then checks each set for a whole batch: one query finds the
stored rows already holding the batch's values (a row may keep its own values: it updates that
row), and ``SeenKeys`` finds the values an earlier row of the file already claimed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rest_framework import serializers
from rest_framework.validators import UniqueTogetherValidator, UniqueValidator

from data_exchange_tool.imports.natural_keys import Key, KeyValues

if TYPE_CHECKING:
    from django.db import models

    from data_exchange_tool.imports.outcomes import RowOutcome
    from data_exchange_tool.imports.seen import SeenKeys


@dataclass
class UniqueSet:
    """Fields whose values must be unique together in the target table and in the file."""

    fields: tuple[str, ...]
    message: str

    @property
    def namespace(self) -> str:
        return "unique:" + ",".join(self.fields)


def take_unique_validators(serializer: serializers.Serializer) -> list[UniqueSet]:
    """Take unique validators off ``serializer`` (they query per row); return what they checked."""
    sets: list[UniqueSet] = []
    for serializer_field in serializer.fields.values():
        uniques = [v for v in serializer_field.validators if isinstance(v, UniqueValidator)]
        if uniques:
            serializer_field.validators = [
                v for v in serializer_field.validators if not isinstance(v, UniqueValidator)
            ]
            sets.append(UniqueSet((serializer_field.source,), str(uniques[0].message)))  # type: ignore[arg-type]  # set by bind()
    kept = []
    for validator in serializer.validators:
        if isinstance(validator, UniqueTogetherValidator):
            sources = tuple(serializer.fields[name].source for name in validator.fields)
            message = str(validator.message).format(field_names=", ".join(validator.fields))
            sets.append(UniqueSet(sources, message))
        else:
            kept.append(validator)
    serializer.validators = kept
    return sets


class UniqueCheck:
    """Check one ``UniqueSet`` for a batch: against the table, then against the file so far.

    :param natural_key: the job type's natural key, which tells which stored row a row updates
        (that row may keep its own values), or None when every row is new.
    """

    def __init__(
        self,
        unique: UniqueSet,
        model: type[models.Model],
        seen: SeenKeys,
        natural_key: Key | None,
        column_of: Callable[[str], str],
    ) -> None:
        self.unique = unique
        self.key = Key(model, unique.fields)
        self.table = model._default_manager.all()
        self.seen = seen
        self.natural_key = natural_key
        self.column = column_of(unique.fields[-1])

    def check(self, outcomes: list[RowOutcome]) -> None:
        """Mark the rows whose values another stored row, or an earlier row, already holds."""
        keyed: list[tuple[RowOutcome, Any]] = [(o, self.key.of(o.validated)) for o in outcomes]
        keyed = [(o, k) for o, k in keyed if k is not None]
        if not keyed:
            return
        owners = self.key.owners(self.table, {k for _, k in keyed})
        if owners:
            self._fail_taken(keyed, owners)
        # Only rows that will be written claim their key: an invalid row never makes a later
        # row (such as the key's owner restating it) a duplicate.
        keyed = [(o, k) for o, k in keyed if not o.errors]
        earlier = self.seen.check_and_add(
            self.unique.namespace, [(k, o.row_number) for o, k in keyed]
        )
        for (outcome, _), first in zip(keyed, earlier, strict=True):
            if first is not None:
                outcome.fail(self.column, f"Duplicate of row {first}: {self.unique.message}")

    def _fail_taken(
        self, keyed: list[tuple[RowOutcome, KeyValues]], owners: dict[KeyValues, Any]
    ) -> None:
        updated = self._updated_pks([o for o, _ in keyed])
        for outcome, key in keyed:
            owner = owners.get(key)
            if owner is not None and owner != updated.get(outcome.row_number):
                outcome.fail(self.column, self.unique.message)

    def _updated_pks(self, outcomes: list[RowOutcome]) -> dict[int, Any]:
        """Return ``{row number: pk of the stored row it updates}`` by the natural key."""
        if self.natural_key is None:
            return {}
        keys = {o.row_number: self.natural_key.of(o.validated) for o in outcomes}
        wanted = {k for k in keys.values() if k is not None}
        if not wanted:
            return {}
        found = self.natural_key.owners(self.table, wanted)
        return {row: found.get(key) for row, key in keys.items() if key is not None}
