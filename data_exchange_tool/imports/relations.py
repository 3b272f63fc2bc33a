"""
Many-to-many relations per batch: compared with the stored through rows, and written in bulk.

A field that lists related objects (DRF's ``many=True`` on a many-to-many field, or a
``ThroughManyField`` with data on the through model) sets the row's relation to exactly what its
cell lists. Django's ``related_manager.set()`` would do that with several queries per row; here a
batch costs a constant number per field:

- ``ManyRelations.compare`` (validation, preview and import): one query reads the through rows of
  the batch's existing rows; a row whose related objects (or their through data) differ is an
  update, with the items before and after as its ``relation_changes``;
- ``ManyRelations.write`` (the import, once the batch's rows are saved and have their pks): one
  query reads the through rows of the updated rows (created rows have none), then one bulk
  insert, one bulk update of the through data and one bulk delete make them exactly the wanted
  ones.

``ThroughTable`` describes one field's through table; exports read it too, one query per chunk.
Through rows are written in bulk: ``m2m_changed``, ``post_save`` and ``post_delete`` signals are
not sent for them, as for ``bulk_create``.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connections, models
from django.db.models.fields.reverse_related import ManyToManyRel
from rest_framework import serializers
from rest_framework.relations import ManyRelatedField

from data_exchange_tool.fields import ThroughManyField
from data_exchange_tool.imports.columns import is_many
from data_exchange_tool.imports.queries import Probing, filter_in
from data_exchange_tool.states import RowAction

if TYPE_CHECKING:
    from data_exchange_tool.imports.outcomes import RowOutcome

#: What a validated value asks for: ``{related pk: (extra values)}``.
Wanted = dict[Any, tuple[Any, ...]]
#: A written row for ``ManyRelations.write``: its pk, its validated data, created in this batch.
WrittenRow = tuple[Any, dict[str, Any], bool]


#: The first value of a row: a through row's primary key.
_first = operator.itemgetter(0)


def int_array(values: Iterable[int]) -> str:
    """Return whole numbers as a PostgreSQL array literal (one parameter, joined in C)."""
    return "{" + ",".join(map(str, values)) + "}"


@dataclass(slots=True)
class ThroughRow:
    """A stored through row: its pk, extra values and the related object's key (when read)."""

    pk: Any
    extras: tuple[Any, ...]
    key: Any = None


def _m2m_ends(model: type[models.Model], source: str) -> tuple[type[models.Model], str, str]:
    """Return the through model and the names of its foreign keys to the row and the related."""
    relation = model._meta.get_field(source)
    if isinstance(relation, ManyToManyRel):  # the reverse side of another model's field
        m2m = relation.field
        through: type[models.Model] = m2m.remote_field.through  # type: ignore[assignment]  # set up
        return through, m2m.m2m_reverse_field_name(), m2m.m2m_field_name()
    through = relation.remote_field.through  # type: ignore[union-attr]
    return through, relation.m2m_field_name(), relation.m2m_reverse_field_name()  # type: ignore[union-attr]


class ThroughTable:
    """The through table of one many field: which rows tie a row to which related objects."""

    def __init__(
        self, name: str, serializer_field: serializers.Field, model: type[models.Model]
    ) -> None:
        self.name = name
        self.source = serializer_field.source
        self.through_items = isinstance(serializer_field, ThroughManyField)
        if isinstance(serializer_field, ThroughManyField):
            through = serializer_field.through_model
            owner = serializer_field.owner_field(model)
            target = serializer_field.related_field()
            slug = serializer_field.slug_field
            self.extras = serializer_field.extra_fields
            self.field = serializer_field
        else:
            through, owner_name, target_name = _m2m_ends(model, serializer_field.source)  # type: ignore[arg-type]
            owner = through._meta.get_field(owner_name)  # type: ignore[assignment]  # a ForeignKey
            target = through._meta.get_field(target_name)  # type: ignore[assignment]  # a ForeignKey
            child = serializer_field.child_relation  # type: ignore[attr-defined]
            slug = getattr(child, "slug_field", None) or "pk"
            self.extras = ()
        self.through: type[models.Model] = through
        self.owner: str = owner.attname
        self.target: str = target.attname
        self.owner_column: str = owner.column
        self.target_column: str = target.column
        self.slug = slug
        self.key_path = self.target if slug == "pk" else f"{target.name}__{slug}"
        #: The rows of a chunk of owners, read as one index probe per owner (``read``).
        self.probing = Probing(through, [self.owner])

    # --- values ------------------------------------------------------------------------

    def wanted(self, value: Iterable[Any]) -> Wanted:
        """Return ``{related pk: extra values}`` of a validated value."""
        if self.through_items:
            return {item.obj.pk: tuple(item.data[n] for n in self.extras) for item in value}
        return {obj.pk: () for obj in value}

    def key_of(self, obj: models.Model) -> Any:
        """Return the value that names a related object in a cell."""
        if self.slug == "pk":
            return obj.pk
        value: Any = obj
        for name in self.slug.split("__"):
            value = getattr(value, name)
        return value

    def render_item(self, key: Any, extras: Sequence[Any]) -> str:
        """Return one item as a cell writes it: the key, then the through data."""
        if self.through_items:
            return self.field.render_item(key, extras)
        return str(key)

    def items(self, value: Iterable[Any]) -> list[str]:
        """Return the item texts of a validated value."""
        if self.through_items:
            return [
                self.render_item(self.key_of(item.obj), [item.data[n] for n in self.extras])
                for item in value
            ]
        return [str(self.key_of(obj)) for obj in value]

    # --- the stored rows ---------------------------------------------------------------

    def read(
        self, owners: Collection[Any], *, keys: bool = False
    ) -> dict[Any, dict[Any, ThroughRow]]:
        """Return ``{row pk: {related pk: ThroughRow}}`` of rows ``owners``, in one query.

        :param keys: also read each related object's key (joined by the database), to show it.
        """
        if not owners:
            return {}
        columns = ["pk", self.owner, self.target, *self.extras]
        if keys:
            columns.append(self.key_path)
        # Probes by owner, in any order, sorted here: asked for in the key's order, a table
        # without statistics was read whole along its primary key for every chunk.
        queryset = self.probing.filter(self.through._base_manager.all(), [(o,) for o in owners])
        rows = sorted(self.probing.rows(queryset.values_list(*columns)), key=_first)
        width = len(self.extras)
        found: dict[Any, dict[Any, ThroughRow]] = {}
        for pk, owner, target, *rest in rows:
            row = ThroughRow(pk, tuple(rest[:width]), rest[width] if keys else None)
            found.setdefault(owner, {})[target] = row
        return found

    def write(self, rows: Sequence[tuple[Any, Wanted, bool]]) -> None:
        """Make the through rows of ``rows`` (pk, wanted, created) exactly the wanted ones."""
        current = self.read({pk for pk, _wanted, created in rows if not created})
        create: list[tuple[Any, Any, tuple[Any, ...]]] = []
        update: list[models.Model] = []
        delete: list[Any] = []
        for pk, wanted, _created in rows:
            have = current.get(pk, {})
            for target, extras in wanted.items():
                stored = have.get(target)
                if stored is None:
                    create.append((pk, target, extras))
                elif stored.extras != extras:
                    update.append(self.row(pk, target, extras, stored.pk))
            delete.extend(stored.pk for target, stored in have.items() if target not in wanted)
        manager = self.through._base_manager
        if delete:
            # One DELETE whatever the rows: no per-row signals, as for bulk_create.
            doomed = filter_in(manager.all(), {"pk": delete})
            doomed._raw_delete(doomed.db)
        if update:
            manager.bulk_update(update, list(self.extras))
        if create:
            self.insert(create)

    def insert(self, rows: list[tuple[Any, Any, tuple[Any, ...]]]) -> None:
        """Insert through rows ``(row pk, related pk, extra values)`` with one statement.

        On PostgreSQL a plain through table (two whole-number keys, no extra data) is filled
        from two arrays, ``INSERT ... SELECT * FROM unnest(...)``: no model instance is built
        and the statement is not compiled per row (a fifth of an import's time otherwise, with
        two tags a row). Elsewhere, and with through data, ``bulk_create``.
        """
        manager = self.through._base_manager
        connection = connections[manager.db]
        owners = [owner for owner, _target, _extras in rows]
        targets = [target for _owner, target, _extras in rows]
        plain = not self.extras and connection.vendor == "postgresql"
        if not (plain and all(type(v) is int for v in itertools.chain(owners, targets))):
            manager.bulk_create([self.row(*row) for row in rows])
            return
        quote = connection.ops.quote_name
        columns = f"{quote(self.owner_column)}, {quote(self.target_column)}"
        sql = (
            f"INSERT INTO {quote(self.through._meta.db_table)} ({columns}) "  # noqa: S608
            "SELECT * FROM unnest(%s::bigint[], %s::bigint[])"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [int_array(owners), int_array(targets)])

    def row(self, owner: Any, target: Any, extras: Sequence[Any], pk: Any = None) -> models.Model:
        """Return an unsaved through row."""
        values = dict(zip(self.extras, extras, strict=True))
        if pk is not None:
            values["pk"] = pk
        return self.through(**{self.owner: owner, self.target: target}, **values)

    def cells(self, owners: Collection[Any], separator: str) -> dict[Any, str]:
        """Return ``{row pk: cell text}`` of rows ``owners`` (one query), for exports."""
        return {
            owner: separator.join(self.render_item(row.key, row.extras) for row in rows.values())
            for owner, rows in self.read(owners, keys=True).items()
        }


class ManyRelations:
    """The many-to-many fields a serializer writes, compared and written per batch."""

    def __init__(
        self,
        model: type[models.Model],
        fields: dict[str, serializers.Field],
        *,
        labels: bool = True,
    ) -> None:
        #: Read the related objects' keys to show the items before a change (the preview does;
        #: the import only needs to know that they change).
        self.labels = labels
        self.tables = [
            ThroughTable(name, field, model) for name, field in fields.items() if is_many(field)
        ]

    def __bool__(self) -> bool:
        return bool(self.tables)

    def compare(self, outcomes: Iterable[RowOutcome]) -> None:
        """Record the relation changes of rows that update a stored row; they become updates.

        One query per field: the through rows of every such row of the batch.
        """
        existing = [o for o in outcomes if o.action in (RowAction.UPDATE, RowAction.UNCHANGED)]
        for table in self.tables:
            rows = [o for o in existing if table.source in (o.validated or {})]
            if not rows:
                continue
            owners = {o.pk for o in rows}
            current = table.read(owners, keys=self.labels)
            for outcome in rows:
                value = outcome.validated[table.source]  # type: ignore[index]
                have = current.get(outcome.pk, {})
                if {target: row.extras for target, row in have.items()} == table.wanted(value):
                    continue
                before = (
                    [table.render_item(row.key, row.extras) for row in have.values()]
                    if self.labels
                    else []
                )
                outcome.relation_changes[table.name] = (before, table.items(value))
                outcome.action = RowAction.UPDATE

    def write(self, rows: Sequence[WrittenRow]) -> None:
        """Make the through rows of a written batch exactly the validated ones, in bulk.

        :param rows: ``(pk, validated data, created in this batch)`` of each written row whose
            relations may have changed; a field missing from a row's data leaves its relation.
        """
        for table in self.tables:
            mine = [
                (pk, table.wanted(validated[table.source]), created)
                for pk, validated, created in rows
                if table.source in validated
            ]
            if mine:
                table.write(mine)

    def write_outcomes(self, outcomes: Iterable[RowOutcome]) -> None:
        """Write the relations of a batch's saved rows: the new ones and those that change."""
        if not self.tables:
            return
        self.write(
            [
                (o.pk, o.validated or {}, o.action == RowAction.NEW)
                for o in outcomes
                if o.action == RowAction.NEW
                or (o.action == RowAction.UPDATE and o.relation_changes)
            ]
        )


def many_fields(serializer: serializers.Serializer) -> dict[str, serializers.Field]:
    """Return the serializer's writable fields that list related objects."""
    return {
        name: field
        for name, field in serializer.fields.items()
        if not field.read_only and isinstance(field, ManyRelatedField | ThroughManyField)
    }
