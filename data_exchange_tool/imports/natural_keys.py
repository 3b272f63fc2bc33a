"""
Natural keys: the fields whose values together name one row of the target.

A job type's ``natural_key`` (by default the target's first unique set the serializer writes) is how
a row of the file finds the stored row it updates; a unique set of the serializer is checked the
same way. ``Key`` reads such a set of values from a row's validated data (a related instance counts
as the key it is referenced by: its pk, or its ``to_field``) and finds the stored rows holding any
of a batch's keys with one query. ``ExistingRows`` uses it to match a batch's rows to the stored
rows they update, read as values (``values_list``: no model instance per row), and marks a key the
file repeats as a duplicate of the row that first held it.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.fields.related import RelatedField

from data_exchange_tool.imports.queries import Probing

if TYPE_CHECKING:
    from collections.abc import Callable

    from data_exchange_tool.imports.outcomes import RowOutcome
    from data_exchange_tool.imports.seen import KeyLedger

KeyValues = tuple[Any, ...]


class Key:
    """A tuple of field values that names one row; see the module docstring."""

    def __init__(self, model: type[models.Model], names: Sequence[str]) -> None:
        self.model = model
        self.names = tuple(names)
        attnames = {f.name: f.attname for f in model._meta.concrete_fields}
        targets = {
            f.name: f.target_field.attname
            for f in model._meta.concrete_fields
            if isinstance(f, RelatedField)
        }
        self.attnames = [attnames.get(name, name) for name in self.names]
        self._get = operator.itemgetter(*self.names)
        self._related = [(i, targets[name]) for i, name in enumerate(self.names) if name in targets]
        #: The lookups of a batch's keys as index probes (``queries.Probing``).
        self.probing = Probing(model, self.names)

    def of(self, validated: dict[str, Any] | None) -> KeyValues | None:
        """Return the key of a row's validated data, or None when a value is missing."""
        try:
            found = self._get(validated or {})
        except KeyError:
            return None
        values = [found] if len(self.names) == 1 else list(found)
        for i, target in self._related:
            if isinstance(values[i], models.Model):
                values[i] = getattr(values[i], target)
        return None if None in values else tuple(values)

    def of_rows(self, validateds: Sequence[dict[str, Any]]) -> list[KeyValues | None]:
        """Return ``of`` of each row's validated data, the batch's keys read column by column
        (a related field's keys in one loop when every value is a model instance); a batch in
        which a row lacks a key's field row by row."""
        try:
            found = list(map(self._get, validateds))
        except KeyError:
            return list(map(self.of, validateds))
        if not found:
            return []
        columns: list[Sequence[Any]] = (
            [found] if len(self.names) == 1 else list(zip(*found, strict=True))
        )
        for i, target in self._related:
            column = columns[i]
            if all(issubclass(kind, models.Model) for kind in set(map(type, column))):
                columns[i] = list(map(operator.attrgetter(target), column))
            else:
                columns[i] = [
                    getattr(v, target) if isinstance(v, models.Model) else v for v in column
                ]
        keys = list(zip(*columns, strict=True))
        if any(None in column for column in columns):
            return [None if None in key else key for key in keys]
        return keys  # type: ignore[return-value]

    def filter(self, queryset: models.QuerySet, keys: set[KeyValues]) -> models.QuerySet:
        """Return the rows of ``queryset`` holding one of ``keys`` (one query)."""
        return self.probing.filter(queryset, keys)

    def owners(self, queryset: models.QuerySet, keys: set[KeyValues]) -> dict[KeyValues, Any]:
        """Return ``{key: pk}`` of the rows of ``queryset`` holding one of ``keys``."""
        rows = self.probing.rows(self.filter(queryset, keys).values_list("pk", *self.attnames))
        return {tuple(values): pk for pk, *values in rows}


#: A stored row as ``ExistingRows`` reads it: ``(pk, *values of the compared columns)``.
Stored = tuple[Any, ...]


class ExistingRows:
    """Match each row of a batch to the stored row it updates, by the job type's natural key.

    ``look_up`` gives every valid row of a batch the stored row's values (or None: a new row) with
    one query, after marking the rows whose key an earlier row of the file already held
    (``SeenKeys``). A stored row is ``(pk, *values of compared)``, ``compared`` being attnames.
    """

    def __init__(
        self,
        key: Key,
        queryset: models.QuerySet,
        seen: KeyLedger,
        column_of: Callable[[str], str],
        compared: Sequence[str] = (),
    ) -> None:
        self.key = key
        self.queryset = queryset
        self.read = ["pk", *key.attnames, *compared]
        self.width = len(key.attnames)
        self.seen = seen
        self.column = column_of(key.names[-1])
        self.names = ", ".join(column_of(name) for name in key.names)

    def look_up(self, outcomes: list[RowOutcome]) -> Lookup:
        """Check a batch's keys against the earlier rows' and return the lookup of the stored
        rows holding them, not run yet (``Lookup``)."""
        keyed = list(
            zip(outcomes, self.key.of_rows([o.validated or {} for o in outcomes]), strict=True)
        )
        with_key = [(o, k) for o, k in keyed if k is not None]
        if with_key:
            earlier = self.seen.check_and_add("lookup", [(k, o.row_number) for o, k in with_key])
            if any(first is not None for first in earlier):
                self._fail_duplicates(with_key, earlier)
        keys = {k for o, k in with_key if not o.errors}
        if not keys:  # nothing to ask the database
            return Lookup(keyed, list, 1 + self.width, apart=False)
        queryset = self.key.filter(self.queryset, keys).values_list(*self.read)
        statement = self.key.probing.statement(queryset)
        if statement is None:
            return Lookup(keyed, lambda: self.key.probing.rows(queryset), 1 + self.width, False)
        return Lookup(keyed, statement, 1 + self.width)

    def _fail_duplicates(
        self, keyed: list[tuple[RowOutcome, KeyValues]], earlier: list[int | None]
    ) -> None:
        for (outcome, _key), first in zip(keyed, earlier, strict=True):
            if first is not None:
                outcome.fail(
                    self.column,
                    f"Duplicate of row {first}: the same {self.names} appears earlier in the file.",
                )


class Lookup:
    """A batch's valid rows with their keys, and the query of the stored rows holding the keys.

    ``fetch`` runs the query; where ``apart`` it may run on another thread sharing the
    connection (``writes.Background``: the preview sends it while the next batch is validated).
    ``matched`` gives each row still valid its stored row (``(pk, *compared values)``) or None.
    """

    def __init__(
        self,
        keyed: list[tuple[RowOutcome, KeyValues | None]],
        query: Callable[[], list[tuple[Any, ...]]],
        end: int,
        apart: bool = True,
    ) -> None:
        self.keyed = keyed
        self.query = query
        self.end = end
        self.apart = apart
        self.rows: list[tuple[Any, ...]] | None = None

    def fetch(self) -> None:
        """Run the query (once)."""
        if self.rows is None:
            self.rows = self.query()

    def matched(self) -> list[tuple[RowOutcome, Stored | None]]:
        """Return ``(outcome, stored row or None)`` for every row still valid."""
        self.fetch()
        end = self.end
        existing = {row[1:end]: (row[0], *row[end:]) for row in self.rows or ()}
        return [
            (outcome, None if key is None else existing.get(key))
            for outcome, key in self.keyed
            if not outcome.errors
        ]
