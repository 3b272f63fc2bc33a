"""
``IN (...)`` filters with one parameter on PostgreSQL.

Batches look rows up by a thousand keys at a time. Django's ``__in`` sends one placeholder per
value, and with a thousand of them the query costs more to build, quote and parse than to run
(about 13 ms against 3 ms measured by ``make bench``). On PostgreSQL ``filter_in`` sends the values
as one array instead, ``column = ANY(%s)``; elsewhere it is the usual ``__in``.

A batch's composite keys (``KeysIn``) are one index probe each, whatever the table's size, when an
index leads with the key's columns: ``Probing`` plans the lookup without hash and merge joins.
Left to itself, PostgreSQL hashes the thousand keys and reads the whole table for each batch
wherever it takes a sequential read to cost less than a thousand random ones (up to a few hundred
thousand rows, and always in a table an import is filling, which has no statistics yet): at 50,000
rows, 13 ms a batch against 2 ms, growing with the table.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.db import DatabaseError, connections
from django.db.models import BooleanField, Expression, F, Field, Lookup, Model, QuerySet
from django.db.models.fields.related import RelatedField

#: Fields whose database value is the Python value itself when it has this exact type.
PLAIN_TYPES: dict[str, type] = {
    "AutoField": int,
    "BigAutoField": int,
    "BigIntegerField": int,
    "CharField": str,
    "IntegerField": int,
    "PositiveBigIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveSmallIntegerField": int,
    "SlugField": str,
    "SmallAutoField": int,
    "SmallIntegerField": int,
    "TextField": str,
}


def prepared(field: Field, values: Collection[Any], connection: Any) -> list[Any]:
    """Return ``values`` as the database takes them for ``field``."""
    target = field.target_field if isinstance(field, RelatedField) else field
    plain = PLAIN_TYPES.get(target.get_internal_type())
    if plain is not None and set(map(type, values)) <= {plain}:
        return list(values)  # the field would return each value unchanged
    return [field.get_db_prep_value(v, connection, prepared=False) for v in values]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def array_param(field: Field, values: Collection[Any], connection: Any) -> tuple[str, Any]:
    """Return a placeholder and a parameter carrying ``values`` of ``field`` as one array.

    Whole numbers and text go as an array literal built with one join and cast to ``bigint[]`` or
    ``text[]``: psycopg would dump a list element by element in Python, which costs more than the
    query for a batch of a thousand keys. ``text``, not the column's ``varchar(n)``, so a long value
    is never cut to the column's length (and then matched). Other values go as a list, which
    psycopg sends with its own array type (``numeric[]``, ``date[]``, ``uuid[]``...).
    """
    values = prepared(field, values, connection)
    kinds = set(map(type, values))  # the types, in one loop that runs in C
    if kinds <= {int}:
        return "%s::bigint[]", "{" + ",".join(map(str, values)) + "}"
    if kinds == {str}:
        whole = "".join(values)
        if "\\" in whole or '"' in whole:  # a value to escape
            return "%s::text[]", "{" + ",".join(map(_quote, values)) + "}"
        return "%s::text[]", '{"' + '","'.join(values) + '"}'
    return "%s", values


class AnyOf(Lookup):
    """``lhs = ANY(%s)`` with the values as one array parameter (PostgreSQL)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_db_prep_lookup(self, value: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        """Return the placeholder and the values as one array parameter."""
        placeholder, param = array_param(self.lhs.output_field, value, connection)
        return placeholder, (param,)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        """Return ``lhs = ANY(%s)`` and its parameters."""
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)


class KeysIn(Expression):
    """``(col_a, col_b) IN (SELECT * FROM unnest(%s, %s))``: rows whose columns equal one key.

    Two ``= ANY`` filters would make PostgreSQL probe an index on both columns once for every
    combination of the two arrays (100 partners x 1,000 SKUs = 100,000 probes a batch); the pairs
    cost one probe each.
    """

    output_field = BooleanField()

    def __init__(self, names: Sequence[str], keys: Collection[tuple[Any, ...]]) -> None:
        super().__init__()
        self.names = list(names)
        self.keys = list(keys)
        self.columns: list[Any] = []

    def resolve_expression(self, query: Any = None, *args: Any, **kwargs: Any) -> KeysIn:
        """Resolve the field names to the query's columns."""
        clone = self.copy()
        clone.columns = [F(name).resolve_expression(query, *args, **kwargs) for name in self.names]
        return clone

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        """Return the SQL: the columns as a row, compared with the unnested arrays."""
        columns, params, arrays = [], [], []
        for position, column in enumerate(self.columns):
            sql, column_params = compiler.compile(column)
            columns.append(sql)
            params.extend(column_params)
            field = column.output_field
            arrays.append(array_param(field, [key[position] for key in self.keys], connection))
        unnest = ", ".join(placeholder for placeholder, _ in arrays)
        # Columns compiled by Django and placeholders: no value is written into the SQL.
        sql = f"({', '.join(columns)}) IN (SELECT * FROM unnest({unnest}))"  # noqa: S608
        return sql, (*params, *(values for _, values in arrays))


def filter_keys(
    queryset: QuerySet,
    names: Sequence[str],
    keys: Collection[tuple[Any, ...]],
    *,
    join: bool = False,
) -> QuerySet:
    """Return ``queryset`` filtered on rows whose ``names`` hold one of ``keys`` (tuples).

    Elsewhere than PostgreSQL (or for one field) each field is filtered on its own values, which
    may return more rows than asked for: match the rows to the keys afterwards. ``join``: one
    field too is matched by ``KeysIn`` on PostgreSQL (``Probing.filter`` says when).
    """
    if not keys:
        return queryset.none()
    if (len(names) > 1 or join) and connections[queryset.db].vendor == "postgresql":
        return queryset.filter(KeysIn(names, keys))
    return filter_in(queryset, {name: {k[i] for k in keys} for i, name in enumerate(names)})


def filter_in(queryset: QuerySet, values_of: dict[str, Collection[Any]]) -> QuerySet:
    """Return ``queryset`` filtered on each ``field IN values`` of ``values_of``."""
    if not all(values_of.values()):
        return queryset.none()
    if connections[queryset.db].vendor != "postgresql":
        return queryset.filter(**{f"{name}__in": values for name, values in values_of.items()})
    return queryset.filter(*(AnyOf(F(name), list(values)) for name, values in values_of.items()))


_INDEXES_SQL = """
SELECT array_agg(a.attname ORDER BY k.ord), i.indisunique AND i.indnkeyatts = %s
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = %s::regclass AND i.indpred IS NULL AND i.indisvalid AND k.ord <= %s
GROUP BY i.indexrelid, i.indisunique, i.indnkeyatts
"""
# Hash and merge joins off, and JIT compilation, the settings before kept by the server
# (placeholder settings of the session), and set back from there: nothing waits for them in
# Python, and the three statements (off, the lookup, back) can go as one query string. JIT: on a
# table without statistics a non-unique index's probes are costed as thousands of rows each, past
# ``jit_above_cost``, and compiling the plan took 7 ms of a 35 ms lookup that runs in 3 ms
# without (a through table of 2 million rows, 1,000 owners: 11.7 ms a batch on average).
_PLANNER_OFF_SQL = (
    "SELECT set_config('dxt.enable_hashjoin', current_setting('enable_hashjoin'), false),"
    " set_config('dxt.enable_mergejoin', current_setting('enable_mergejoin'), false),"
    " set_config('dxt.jit', current_setting('jit'), false),"
    " set_config('enable_hashjoin', 'off', false), set_config('enable_mergejoin', 'off', false),"
    " set_config('jit', 'off', false)"
)
_PLANNER_BACK_SQL = (
    "SELECT set_config('enable_hashjoin', current_setting('dxt.enable_hashjoin'), false),"
    " set_config('enable_mergejoin', current_setting('dxt.enable_mergejoin'), false),"
    " set_config('jit', current_setting('dxt.jit'), false)"
)


def leading_indexes(connection: Any, table: str, columns: Sequence[str]) -> list[bool]:
    """Return a flag for each index of ``table`` (not partial, valid) that leads with
    ``columns``, in any order: True where it is unique on them alone."""
    wanted = frozenset(columns)
    with connection.cursor() as cursor:
        cursor.execute(_INDEXES_SQL, [len(wanted), connection.ops.quote_name(table), len(wanted)])
        return [
            unique
            for names, unique in cursor.fetchall()
            if len(names) == len(wanted) and set(names) == wanted
        ]


class Probing:
    """Evaluate a ``filter_keys`` lookup on ``names`` as one index probe per key.

    On PostgreSQL, for a composite key an index leads with (asked once, on first use), hash and
    merge joins and JIT compilation are off for the statements inside ``with probing(queryset):``
    and set back after (two statements; each is a session setting, which a rolled-back
    transaction also takes back). Elsewhere, nothing.

    One column is probed only where the indexes leading with it are none of them unique on it
    alone (a foreign key's, a through table's owner column): without statistics (a table just
    filled, before its first ``ANALYZE``) ``col = ANY(...)`` of a thousand values was costed as
    the whole table and read whole for every batch (46 ms at 500,000 rows against 3 ms as
    probes; a chunk of 2,000 owners in a through table of 2 million rows, 0.49 s against 4 ms).
    A unique index on it is planned as one row a value as it is, and keeps ``= ANY``.
    """

    def __init__(self, model: type[Model], names: Sequence[str]) -> None:
        self.model = model
        self.names = list(names)
        #: ``{alias: bool}``: whether the lookup is planned as probes on that database.
        self.indexed: dict[str, bool] = {}

    def applies(self, connection: Any) -> bool:
        """Return True when the lookup is planned as probes on ``connection``."""
        if not self.names or connection.vendor != "postgresql":
            return False
        if connection.alias not in self.indexed:
            meta = self.model._meta
            try:
                columns = [getattr(meta.get_field(name), "column", None) for name in self.names]
            except FieldDoesNotExist:
                columns = [None]
            found: list[bool] = []
            if None not in columns:
                found = leading_indexes(connection, meta.db_table, columns)  # type: ignore[arg-type]  # no None left
            # A composite key wherever an index leads with it; one column where none is unique.
            self.indexed[connection.alias] = bool(found) and (len(columns) > 1 or not any(found))
        return self.indexed[connection.alias]

    def filter(self, queryset: QuerySet, keys: Collection[tuple[Any, ...]]) -> QuerySet:
        """Return ``filter_keys`` of ``queryset`` on ``names``: one column too as a join where
        the lookup is probed."""
        join = self.applies(connections[queryset.db])
        return filter_keys(queryset, self.names, keys, join=join)

    def rows(self, queryset: QuerySet) -> list[tuple[Any, ...]]:
        """Return the rows of a ``values_list`` queryset, its lookup planned as probes.

        Where the connection's cursor sends several statements in one query string (psycopg 3's
        client-side binding: Django's default) and the rows need no conversion, the settings,
        the lookup and the settings back go as one query: one round trip instead of three (a
        batch's lookup waited for the two others). Otherwise as ``with probing(queryset):``.
        A failed statement takes the settings back with it: the string runs as one implicit
        transaction, or inside the caller's, which rolls back.
        """
        statement = self.statement(queryset)
        if statement is not None:
            return statement()
        with self(queryset):
            return list(queryset)

    def statement(self, queryset: QuerySet) -> Callable[[], list[tuple[Any, ...]]] | None:
        """Return a call that gives ``rows(queryset)`` with one query string on the queryset's
        connection, from this thread or another one sharing it (``writes.Background``), or None
        where the lookup takes the ORM's path (elsewhere than PostgreSQL, rows Django converts,
        or a composite key's three statements on a driver that sends one at a time)."""
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return None
        probes = self.applies(connection)
        compiler = queryset.query.get_compiler(using=queryset.db)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return list
        fields = [column for column, _, _ in compiler.select[: compiler.col_count]]
        if compiler.get_converters(fields):
            return None
        if probes:
            with connection.cursor() as cursor:
                if not _sends_many(cursor):
                    return None
            sql = f"{_PLANNER_OFF_SQL}; {sql}; {_PLANNER_BACK_SQL}"

        def run() -> list[tuple[Any, ...]]:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                if probes:
                    cursor.nextset()
                rows = cursor.fetchall()  # tuples (psycopg's default row factory, as Django's)
            return rows if not rows or type(rows[0]) is tuple else [tuple(r) for r in rows]

        return run

    @contextmanager
    def __call__(self, queryset: QuerySet) -> Iterator[None]:
        connection = connections[queryset.db]
        if not self.applies(connection):
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute(_PLANNER_OFF_SQL)
        try:
            yield
        finally:
            if not connection.needs_rollback:
                try:
                    with connection.cursor() as cursor:
                        cursor.execute(_PLANNER_BACK_SQL)
                except DatabaseError:  # an aborted transaction: its rollback sets them back
                    pass


def _sends_many(cursor: Any) -> bool:
    """Return True when ``cursor`` (Django's wrapper) sends a query string of several
    statements and reads each one's rows (psycopg 3's ``ClientCursor``)."""
    try:
        from psycopg import ClientCursor
    except ImportError:  # psycopg2
        return False
    return isinstance(cursor.cursor, ClientCursor)
