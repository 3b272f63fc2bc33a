"""filter_in on PostgreSQL: the array form finds what ``__in`` finds; a batch's composite keys,
and a chunk's rows of a through table, are looked up as index probes (``queries.Probing``)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet

from data_exchange_tool.imports.natural_keys import Key
from data_exchange_tool.imports.queries import KeysIn, Probing, filter_in, filter_keys
from data_exchange_tool.imports.relations import ThroughTable
from example_project.demo.models import Partner, Product, StockRecord
from tests.imports.test_queries import (  # noqa: F401 - the same tests, run on PostgreSQL here
    test_a_value_longer_than_the_column_is_not_cut_to_match,
    test_awkward_texts_are_matched_exactly,
    test_filter_keys_matches_pairs,
    test_filter_keys_on_one_field_and_no_keys,
    test_filters_on_pks_and_foreign_keys,
    test_filters_on_text_values,
    test_no_values_find_nothing,
    test_other_types_go_as_lists,
    test_the_sql_has_one_parameter_per_field_on_postgresql,
)
from tests.testapp.models import CatalogueItem, Tag
from tests.testapp.serializers import CatalogueItemSerializer

pytestmark = pytest.mark.django_db


# --- a batch's composite keys as index probes ----------------------------------------------


def planner_settings() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin')"
        )
        return cursor.fetchone()


@pytest.fixture
def filled():
    """A stock-record table of 5,000 rows written in the test's transaction: no statistics,
    as while an import fills it."""
    partner = Partner.objects.create(name="P")
    product = Product.objects.create(sku="S", title="S")
    StockRecord.objects.bulk_create(
        StockRecord(partner=partner, product=product, partner_sku=f"sku-{i}") for i in range(5000)
    )
    return partner


def test_a_batch_of_composite_keys_is_planned_as_index_probes(filled):
    key = Key(StockRecord, ["partner", "partner_sku"])
    keys = {(filled.pk, f"sku-{i}") for i in range(0, 5000, 5)}
    queryset = filter_keys(StockRecord.objects.all(), key.names, keys).values_list("pk")
    left_alone = queryset.explain()
    with key.probing(StockRecord.objects.all()):
        probed = queryset.explain()
        found = list(queryset)
    assert "Seq Scan on demo_stockrecord" in left_alone  # the plan the batch used to get
    assert "Seq Scan on demo_stockrecord" not in probed
    assert "Index Scan" in probed
    assert len(found) == 1000
    assert planner_settings() == ("on", "on")  # set back


def fail_inside(key: Key) -> None:
    with key.probing(StockRecord.objects.all()):
        assert planner_settings() == ("off", "off")
        raise ZeroDivisionError


def fail_in_the_database_inside(key: Key) -> None:
    with transaction.atomic(), key.probing(StockRecord.objects.all()), connection.cursor() as c:
        c.execute("SELECT 1 / 0")


def test_the_planner_settings_come_back_after_a_failed_lookup(filled):
    key = Key(StockRecord, ["partner", "partner_sku"])
    with pytest.raises(ZeroDivisionError):
        fail_inside(key)
    assert planner_settings() == ("on", "on")
    with transaction.atomic():
        # The statement aborts the savepoint: its rollback takes the settings back.
        with pytest.raises(DatabaseError):
            fail_in_the_database_inside(key)
        assert planner_settings() == ("on", "on")


def test_a_key_no_index_leads_with_is_left_to_the_planner(filled):
    probing = Probing(StockRecord, ["product", "partner_sku"])
    assert not probing.applies(connection)
    assert Probing(StockRecord, ["partner", "partner_sku"]).applies(connection)
    assert not Probing(StockRecord, ["partner_sku"]).applies(connection)  # one column: ANY()
    with probing(StockRecord.objects.all()):
        assert planner_settings() == ("on", "on")


def test_a_lookups_rows_come_in_one_round_trip_planned_as_probes(filled):
    """``Probing.rows`` sends the settings, the lookup and the settings back as one query string
    (psycopg's client-side binding): the rows of the queryset, the planner's settings as they
    were after it, and the plan of the lookup the one it gets between the settings."""
    from django.test.utils import CaptureQueriesContext

    key = Key(StockRecord, ["partner", "partner_sku"])
    keys = {(filled.pk, f"sku-{i}") for i in range(0, 5000, 5)}
    queryset = filter_keys(StockRecord.objects.all(), key.names, keys).values_list(
        "pk", "partner_id", "partner_sku"
    )
    assert key.probing.applies(connection)  # the index asked for once, on first use
    with connection.cursor() as cursor:  # settings of the session's own are kept too
        cursor.execute("SET enable_mergejoin = off")
    try:
        with CaptureQueriesContext(connection) as queries:
            rows = key.probing.rows(queryset)
        assert len(queries) == 1
        assert sorted(rows) == sorted(queryset)
        assert len(rows) == 1000
        assert all(type(row) is tuple for row in rows)
        assert planner_settings() == ("on", "off")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_mergejoin")
    # The statement the string holds is planned as probes with the settings it sets.
    (sql,) = [q["sql"] for q in queries]
    lookup = sql.split("; ")[1]
    with connection.cursor() as cursor:
        cursor.execute("SET enable_hashjoin = off; SET enable_mergejoin = off")
        cursor.execute(f"EXPLAIN {lookup}")
        plan = "\n".join(line for (line,) in cursor.fetchall())
        cursor.execute("RESET enable_hashjoin; RESET enable_mergejoin")
    assert "Seq Scan on demo_stockrecord" not in plan


def failing_lookup(key: Key) -> QuerySet:
    partner = Partner.objects.create(name="F")
    return (
        filter_keys(StockRecord.objects.all(), key.names, {(partner.pk, "sku-1")})
        .extra(select={"broken": "1 / 0"})
        .values_list("pk", "broken")
    )


def test_a_failed_lookup_in_one_round_trip_takes_the_settings_back():
    key = Key(StockRecord, ["partner", "partner_sku"])
    failing = failing_lookup(key)
    with pytest.raises(DatabaseError), transaction.atomic():
        key.probing.rows(failing)
    assert planner_settings() == ("on", "on")  # the savepoint's rollback


@pytest.mark.django_db(transaction=True)
def test_a_failed_lookup_in_autocommit_takes_the_settings_back():
    key = Key(StockRecord, ["partner", "partner_sku"])
    failing = failing_lookup(key)
    assert not connection.in_atomic_block
    with pytest.raises(DatabaseError):
        key.probing.rows(failing)
    assert planner_settings() == ("on", "on")  # the string's implicit transaction


def test_rows_needing_conversion_are_read_through_the_orm(filled):
    """A column Django converts when read (here a JSON value) is left to the queryset: the
    settings around it are two statements of their own."""
    from django.db.models import JSONField, Value
    from django.test.utils import CaptureQueriesContext

    key = Key(StockRecord, ["partner", "partner_sku"])
    queryset = (
        filter_keys(StockRecord.objects.all(), key.names, {(filled.pk, "sku-1")})
        .annotate(doc=Value({"a": 1}, output_field=JSONField()))
        .values_list("pk", "doc")
    )
    assert key.probing.applies(connection)
    with CaptureQueriesContext(connection) as queries:
        rows = key.probing.rows(queryset)
    assert [doc for _, doc in rows] == [{"a": 1}]
    assert len(queries) == 3
    assert planner_settings() == ("on", "on")


# --- arrays as one parameter ------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        ["a", "b c", "", "NULL", "null", "{x}", "a,b", " lead", "trail ", "Ünï 日本", "x" * 300],
        ['quo"te', "back\\slash", "a,b", "", "NULL", '","', '"'],
        ["plain", 'one "quote" among plain texts'],
    ],
    ids=["no-escape", "escapes", "mixed"],
)
def test_a_text_array_parameter_reads_back_as_its_values(values):
    """``array_param``'s literal of texts (joined at once where no text needs escaping, each
    quoted and escaped where one does) reads back on PostgreSQL as the values, in order."""
    from data_exchange_tool.imports.queries import array_param

    placeholder, param = array_param(Partner._meta.get_field("name"), values, connection)
    assert placeholder == "%s::text[]"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {placeholder}", [param])
        (found,) = cursor.fetchone()
    assert found == values


def test_an_integer_array_parameter_reads_back_as_its_values():
    from data_exchange_tool.imports.queries import array_param

    values = [0, -1, 2**62, 7]
    placeholder, param = array_param(StockRecord._meta.get_field("id"), values, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {placeholder}", [param])
        (found,) = cursor.fetchone()
    assert (placeholder, found) == ("%s::bigint[]", values)


# --- a chunk's through rows as index probes --------------------------------------------------


def rows_read(model) -> int:
    """Rows of ``model``'s table read so far in this transaction: by sequential scans, and the
    entries its indexes returned (PostgreSQL's counters of the transaction: an index scan's
    are the index's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_returned(%s::regclass) + COALESCE(SUM("
            "pg_stat_get_xact_tuples_returned(indexrelid)), 0) FROM pg_index "
            "WHERE indrelid = %s::regclass",
            [model._meta.db_table] * 2,
        )
        return int(cursor.fetchone()[0])


@pytest.fixture
def tagged():
    """4,000 catalogue items with two tags each, written in the test's transaction: a through
    table of 8,000 rows without statistics, as right after an import filled it."""
    tags = Tag.objects.bulk_create(Tag(code=f"t{i}", label=f"Tag {i}") for i in range(20))
    items = CatalogueItem.objects.bulk_create(CatalogueItem(sku=f"i{i}") for i in range(4000))
    through = CatalogueItem.tags.through
    through.objects.bulk_create(
        through(catalogueitem=item, tag=tags[(i + k) % 20])
        for i, item in enumerate(items)
        for k in (7, 3)  # a row's second tag has the smaller key: the rows' order matters
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_statistic WHERE starelid = %s::regclass",
            [through._meta.db_table],
        )
        assert cursor.fetchone()[0] == 0  # never analyzed
    return items


def test_a_chunks_through_rows_are_read_as_index_probes(tagged):
    """``ThroughTable.read`` (a chunk of an export, the rows an import's batch updates) reads
    the chunk's rows, not the table: with ``owner = ANY(...) ORDER BY pk``, PostgreSQL read a
    through table without statistics whole, along its primary key, for every chunk (0.49 s a
    chunk of 2,000 in a table of 2 million rows; the 1M-row many-to-many export took 276 s)."""
    through = CatalogueItem.tags.through
    table = ThroughTable("tags", CatalogueItemSerializer().fields["tags"], CatalogueItem)
    owners = [item.pk for item in tagged[1000:1200]]
    expected: dict = {}
    for pk, owner, tag, code in (
        through.objects.filter(catalogueitem_id__in=owners)
        .order_by("pk")
        .values_list("pk", "catalogueitem_id", "tag_id", "tag__code")
    ):
        expected.setdefault(owner, []).append((tag, pk, code))
    before = rows_read(through)
    found = table.read(owners, keys=True)
    read = rows_read(through) - before
    assert {
        owner: [(tag, row.pk, row.key) for tag, row in rows.items()]
        for owner, rows in found.items()
    } == expected  # every row, each owner's in the order of their keys
    assert table.cells(owners[:1], ";") == {
        owners[0]: ";".join(c for _, _, c in expected[owners[0]])
    }
    assert read <= 2 * 400  # the chunk's 400 rows
    before = rows_read(through)
    left_alone = filter_in(through.objects.all(), {"catalogueitem_id": owners}).order_by("pk")
    assert len(left_alone.values_list("pk")) == 400
    assert rows_read(through) - before >= 8000  # the plan the read used to get: the whole table
    assert planner_settings() == ("on", "on")  # set back


def jit_setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit')")
        return cursor.fetchone()[0]


@pytest.mark.parametrize("session", ["on", "off"])
def test_a_probed_lookup_runs_without_jit_and_sets_it_back(tagged, session):
    """Without statistics, a thousand probes of a non-unique index are costed past
    ``jit_above_cost``: compiling took 7 ms of a lookup that runs in 3 ms. The session's own
    setting comes back after, in line, in one round trip and after a failed lookup."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET jit = {session}")
    table = ThroughTable("tags", CatalogueItemSerializer().fields["tags"], CatalogueItem)
    through = CatalogueItem.tags.through
    queryset = through.objects.filter(KeysIn(["catalogueitem_id"], [(tagged[0].pk,)]))
    with table.probing(queryset):
        assert jit_setting() == "off"
        assert planner_settings() == ("off", "off")
    assert jit_setting() == session
    rows = table.probing.rows(queryset.values_list("pk"))
    assert len(rows) == 2
    assert jit_setting() == session
    broken = queryset.extra(select={"broken": "1 / 0"}).values_list("pk", "broken")
    with pytest.raises(DatabaseError), transaction.atomic():
        table.probing.rows(broken)
    assert jit_setting() == session


def test_one_column_only_a_non_unique_index_leads_with_is_planned_as_index_probes(tagged):
    """A key of one column that a unique index holds is left to ``= ANY`` (planned as one row a
    value); one only non-unique indexes lead with is probed as a composite key is: left alone,
    PostgreSQL reads the whole table for each batch of a table without statistics. (The
    through table, not the stock records: rows written and rolled back there would change the
    plans other tests of the stock-record table show.)"""
    through = CatalogueItem.tags.through
    key = Key(through, ["catalogueitem"])  # its foreign key's index: not unique
    assert key.probing.applies(connection)
    assert not Key(CatalogueItem, ["sku"]).probing.applies(connection)  # unique: = ANY
    assert not Probing(CatalogueItem, ["name"]).applies(connection)  # no index at all
    keys = {(item.pk,) for item in tagged[1000:2000]}
    queryset = key.filter(through.objects.all(), keys).values_list("pk", "catalogueitem_id")
    left_alone = filter_keys(through.objects.all(), key.names, keys).values_list("pk")
    assert "= ANY" in str(left_alone.query)
    assert "= ANY" not in str(queryset.query)
    with key.probing(through.objects.all()):
        probed = queryset.explain()
    table = through._meta.db_table
    assert f"Seq Scan on {table}" in left_alone.explain()  # what a batch used to get
    assert f"Seq Scan on {table}" not in probed
    rows = key.probing.rows(queryset)
    expected = through.objects.filter(catalogueitem__in=tagged[1000:2000]).values_list(
        "pk", "catalogueitem_id"
    )
    assert sorted(rows) == sorted(expected)
    assert len(rows) == 2000
    assert planner_settings() == ("on", "on")  # set back
