"""filter_in on PostgreSQL: the array form finds what ``__in`` finds; a batch's composite keys
are looked up as index probes (``queries.Probing``)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from data_exchange_tool.imports.natural_keys import Key
from data_exchange_tool.imports.queries import Probing, filter_keys
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
