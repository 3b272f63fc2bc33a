"""Batch validation: columns, empty cells, natural keys, unique checks, lookups and plans."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.related import BatchRelated
from data_exchange_tool.imports.validation import BatchValidator, _may_see_writes
from data_exchange_tool.states import RowAction
from example_project.demo.models import StockRecord, StockRecordImportJob
from tests.helpers import STOCK_HEADERS, stock_rows
from tests.testapp.models import CatalogueItemImportJob, Tag, TagImportJob

pytestmark = pytest.mark.django_db


def validate(job, headers, rows, *, start=2):
    """Validate ``rows`` (lists of cells) as one batch; return the outcomes."""
    validator = BatchValidator(job, headers)
    try:
        return validator.validate(
            [(start + i, [str(c) for c in row]) for i, row in enumerate(rows)]
        )
    finally:
        validator.close()


def errors(outcome):
    return outcome.errors


@pytest.mark.parametrize(
    "headers",
    [
        STOCK_HEADERS,
        ["PARTNER", " Product ", "Partner SKU", "price", "Num In Stock", "num  allocated"],
        ["Partner_SKU", "partner", "product", "extra column", "price"],
    ],
    ids=["names", "labels-any-case", "other-order"],
)
def test_headers_match_fields_ignoring_case_and_spaces(catalogue, headers):
    validator = BatchValidator(StockRecordImportJob(), headers)
    matched = {name for _, name, _ in validator.columns.columns}
    assert {"partner", "product", "partner_sku", "price"} <= matched
    assert "extra column" not in validator.columns.header_of.values()
    validator.close()


def test_column_mapping_renames_a_column(catalogue):
    outcomes = validate(TagImportJob(), [" TAG  CODE", "Label", "WEIGHT"], [["red", "Red", "3"]])
    assert outcomes[0].validated == {"code": "red", "label": "Red", "weight": 3}


def test_first_of_two_matching_columns_wins(catalogue):
    outcomes = validate(TagImportJob(), ["code", "label", "Code"], [["a", "A", "b"]])
    assert outcomes[0].validated["code"] == "a"


@pytest.mark.parametrize(
    ("headers", "missing"),
    [
        (["partner", "product", "price"], "partner_sku"),
        (["product", "partner_sku"], "partner"),
        (["label"], "code"),
    ],
)
def test_missing_required_column_names_it(catalogue, headers, missing):
    job = TagImportJob() if missing == "code" else StockRecordImportJob()
    with pytest.raises(FileFormatError, match=f"Missing required column\\(s\\): .*{missing}"):
        BatchValidator(job, headers)


def test_missing_column_message_lists_the_columns_found(catalogue):
    with pytest.raises(FileFormatError) as error:
        BatchValidator(StockRecordImportJob(), ["partner", "sku", ""])
    assert str(error.value) == (
        "Missing required column(s): product, partner_sku. Columns found: partner, sku."
    )


def test_empty_cells(catalogue):
    rows = [
        ["ACME", "P-1", "A", "", "5", ""],  # null price, default allocation
        ["ACME", "P-1", " ", "1.00", "5", "0"],  # a required text left blank
        ["ACME", "P-1", "C", "1.00", "", "0"],  # an optional number left blank
    ]
    first, second, third = validate(StockRecordImportJob(), STOCK_HEADERS, rows)
    assert first.validated["price"] is None
    assert "num_allocated" not in first.validated
    # The row carries no value: the writer gives the model's default (0), as Model() would;
    # test_pipeline's test_empty_cells_through_a_job reads it back from the table.
    assert "num_allocated" not in first.row
    assert first.instance is None  # no model instance is built per row
    assert errors(second) == [("partner_sku", "This field is required.")]
    assert third.action == RowAction.NEW
    assert "num_in_stock" not in third.validated


def test_short_rows_read_missing_cells_as_empty(catalogue):
    [outcome] = validate(StockRecordImportJob(), STOCK_HEADERS, [["ACME", "P-1", "A", "2.00"]])
    assert outcome.action == RowAction.NEW
    assert outcome.validated["price"] == Decimal("2.00")


def test_nul_in_a_cell_is_a_row_error(catalogue):
    rows = [["ACME", "P-1", "A\x00B", "1.00", "5", "0"], ["ACME", "P-1", "C", "1.00", "5", "0"]]
    bad, good = validate(StockRecordImportJob(), STOCK_HEADERS, rows)
    assert errors(bad) == [("partner_sku", "The cell contains a NUL character.")]
    assert bad.action == RowAction.INVALID
    assert good.action == RowAction.NEW


def test_natural_keys_resolve_and_unknown_ones_fail(catalogue):
    rows = [
        ["Globex", "P-2", "A", "1.00", "5", "0"],
        ["Nobody", "P-9", "B", "1.00", "5", "0"],
    ]
    good, bad = validate(StockRecordImportJob(), STOCK_HEADERS, rows)
    assert good.validated["partner"].name == "Globex"
    assert good.validated["product"].sku == "P-2"
    assert errors(bad) == [
        ("partner", "Object with name=Nobody does not exist."),
        ("product", "Object with sku=P-9 does not exist."),
    ]


def test_serializer_validate_errors_have_no_column(catalogue):
    [outcome] = validate(
        StockRecordImportJob(), STOCK_HEADERS, [["ACME", "P-1", "A", "1", "1", "5"]]
    )
    assert errors(outcome) == [("", "More allocated than in stock.")]


def test_errors_use_the_files_header(catalogue):
    headers = ["Partner", "Product", "Partner SKU", "Price"]
    [outcome] = validate(StockRecordImportJob(), headers, [["ACME", "P-1", "A", "cheap"]])
    assert errors(outcome) == [("Price", "A valid number is required.")]


def test_before_import_row_can_change_the_row(catalogue, monkeypatch):
    calls = []

    def upper(self, row, row_number):
        calls.append(row_number)
        row["partner_sku"] = row["partner_sku"].upper()

    monkeypatch.setattr(StockRecordImportJob, "before_import_row", upper)
    rows = [["ACME", "P-1", "abc", "1.00", "5", "0"], ["ACME", "P-1", "x\x00", "1", "5", "0"]]
    good, bad = validate(StockRecordImportJob(), STOCK_HEADERS, rows)
    assert good.validated["partner_sku"] == "ABC"
    assert calls == [2]  # not called for a row that already failed
    assert bad.action == RowAction.INVALID


def test_lookup_matches_existing_rows_and_plans_changes(catalogue):
    partner = catalogue["partners"][0]
    product = catalogue["products"][0]
    StockRecord.objects.create(
        partner=partner, product=product, partner_sku="A", price=Decimal("1.00"), num_in_stock=5
    )
    StockRecord.objects.create(
        partner=partner, product=product, partner_sku="B", price=Decimal("1.00"), num_in_stock=5
    )
    rows = [
        ["ACME", "P-1", "A", "1.00", "5", "0"],  # unchanged
        ["ACME", "P-2", "B", "2.50", "5", "0"],  # product and price change
        ["Globex", "P-1", "A", "1.00", "5", "0"],  # same SKU, other partner: new
    ]
    unchanged, updated, new = validate(StockRecordImportJob(), STOCK_HEADERS, rows)
    assert unchanged.action == RowAction.UNCHANGED
    assert updated.action == RowAction.UPDATE
    assert set(updated.changes) == {"product", "price"}
    assert updated.changes["price"] == (Decimal("1.00"), Decimal("2.50"))
    assert new.action == RowAction.NEW
    assert new.pk is None  # not written yet
    assert new.instance is None


def test_a_key_repeated_in_the_file_fails_the_later_rows(catalogue):
    rows = [["ACME", "P-1", "A", "1", "5", "0"]] * 3 + [["Globex", "P-1", "A", "1", "5", "0"]]
    first, second, third, other_partner = validate(StockRecordImportJob(), STOCK_HEADERS, rows)
    assert first.action == RowAction.NEW
    message = "Duplicate of row 2: the same partner, partner_sku appears earlier in the file."
    assert errors(second) == errors(third) == [("partner_sku", message)]
    assert other_partner.action == RowAction.NEW


def test_a_key_repeated_in_a_later_batch_fails(catalogue):
    validator = BatchValidator(StockRecordImportJob(), STOCK_HEADERS)
    row = ["ACME", "P-1", "A", "1", "5", "0"]
    [first] = validator.validate([(2, row)])
    [later] = validator.validate([(9, row)])
    validator.close()
    assert first.action == RowAction.NEW
    assert later.errors[0][1].startswith("Duplicate of row 2:")


# --- unique fields other than the lookup (Tag.label) -----------------------------------------


def test_unique_label_taken_in_the_database_fails(catalogue):
    Tag.objects.create(code="r1", label="Red")
    rows = [["r2", "Red", ""], ["r3", "Blue", ""]]
    taken, free = validate(TagImportJob(), ["code", "label", "weight"], rows)
    assert errors(taken) == [("label", "tag with this label already exists.")]
    assert free.action == RowAction.NEW


def test_a_row_keeping_its_own_unique_value_passes(catalogue):
    Tag.objects.create(code="r1", label="Red")
    [own] = validate(TagImportJob(), ["code", "label", "weight"], [["r1", "Red", "4"]])
    assert own.action == RowAction.UPDATE, own.errors
    assert own.changes == {"weight": (None, 4)}


def test_unique_label_repeated_in_the_file_fails_the_later_row(catalogue):
    validator = BatchValidator(TagImportJob(), ["Tag code", "label"])
    first_batch = validator.validate([(2, ["a", "Green"]), (3, ["b", "Green"])])
    second_batch = validator.validate([(4, ["c", "Green"]), (5, ["d", "Teal"])])
    validator.close()
    assert first_batch[0].action == RowAction.NEW
    duplicate = "Duplicate of row 2: tag with this label already exists."
    assert errors(first_batch[1]) == [("label", duplicate)]
    assert errors(second_batch[0]) == [("label", duplicate)]
    assert second_batch[1].action == RowAction.NEW


def test_unique_checks_cost_one_query_per_batch_not_per_row(catalogue):
    Tag.objects.bulk_create(Tag(code=f"t{i}", label=f"L{i}") for i in range(50))
    rows = [[f"t{i}", f"L{i}", str(i)] for i in range(50)] + [["new", "Fresh", ""]]
    validator = BatchValidator(TagImportJob(), ["code", "label", "weight"])
    with CaptureQueriesContext(connection) as queries:
        outcomes = validator.validate([(i + 2, row) for i, row in enumerate(rows)])
    validator.close()
    assert [o.action for o in outcomes].count(RowAction.UPDATE) == 50
    assert outcomes[-1].action == RowAction.NEW
    assert len(queries) <= 3, [q["sql"] for q in queries]


def test_natural_keys_cost_one_query_per_field_and_batch(catalogue):
    rows = stock_rows(300) + stock_rows(300, start=300, partner="Globex")
    validator = BatchValidator(StockRecordImportJob(), STOCK_HEADERS)
    with CaptureQueriesContext(connection) as queries:
        outcomes = validator.validate([(i + 2, [str(c) for c in r]) for i, r in enumerate(rows)])
    validator.close()
    assert all(o.action == RowAction.NEW for o in outcomes)
    # partners, products, existing stock records
    assert len(queries) == 3, [q["sql"] for q in queries]


def test_an_unknown_natural_key_is_looked_up_once(catalogue):
    validator = BatchValidator(StockRecordImportJob(), STOCK_HEADERS)
    batch = [(2, ["Nobody", "P-1", "A", "1", "5", "0"]), (3, ["ACME", "P-404", "B", "1", "5", "0"])]
    first = validator.validate(batch)
    with CaptureQueriesContext(connection) as queries:
        again = validator.validate([(4, batch[0][1]), (5, batch[1][1])])
    validator.close()
    message = "Object with name=Nobody does not exist."
    assert errors(first[0]) == errors(again[0]) == [("partner", message)]
    assert errors(again[1]) == [("product", "Object with sku=P-404 does not exist.")]
    # only the (empty) existing-row lookup: no partner or product query for known misses
    assert not [q["sql"] for q in queries if "demo_partner" in q["sql"].split("WHERE")[0]]
    assert not [q["sql"] for q in queries if "demo_product" in q["sql"].split("WHERE")[0]]


def test_a_before_row_hook_may_create_what_was_missing(catalogue, monkeypatch):
    from example_project.demo.models import Partner

    def create_partner(self, row, row_number):
        if row_number > 2:
            Partner.objects.get_or_create(name=row["partner"])

    monkeypatch.setattr(StockRecordImportJob, "before_import_row", create_partner)
    validator = BatchValidator(StockRecordImportJob(), STOCK_HEADERS)
    [first] = validator.validate([(2, ["Newco", "P-1", "A", "1", "5", "0"])])
    [second] = validator.validate([(3, ["Newco", "P-1", "B", "1", "5", "0"])])
    validator.close()
    assert first.action == RowAction.INVALID
    assert second.action == RowAction.NEW, second.errors


def test_an_invalid_row_does_not_make_the_owner_a_duplicate(catalogue):
    Tag.objects.create(code="r1", label="Red")
    rows = [["r2", "Red", ""], ["r1", "Red", "4"], ["r3", "Red", ""]]
    taken, own, later = validate(TagImportJob(), ["code", "label", "weight"], rows)
    assert errors(taken) == [("label", "tag with this label already exists.")]
    assert own.action == RowAction.UPDATE, own.errors
    assert errors(later) == [("label", "tag with this label already exists.")]


def test_close_gives_the_related_fields_back_and_forgets_their_objects(catalogue):
    # A field taken over for the run refers to what answers it, which refers to the field: a
    # cycle holding every object the run named, which a worker kept from task to task (#15).
    validator = BatchValidator(StockRecordImportJob(), STOCK_HEADERS)
    [outcome] = validator.validate([(2, ["ACME", "P-1", "A", "1", "5", "0"])])
    fields = validator.serializer.fields
    assert outcome.action == RowAction.NEW
    assert "to_internal_value" in vars(fields["partner"])
    assert all(related.cache for related in validator.related)
    validator.close()
    assert [related.cache for related in validator.related] == [{}, {}]
    assert "to_internal_value" not in vars(fields["partner"])
    assert "to_internal_value" not in vars(fields["product"])


def test_close_gives_a_many_field_and_its_items_field_back(catalogue):
    Tag.objects.create(code="red", label="Red")
    validator = BatchValidator(CatalogueItemImportJob(), ["sku", "name", "tags"])
    [outcome] = validator.validate([(2, ["S-1", "One", "red"])])
    tags = validator.serializer.fields["tags"]
    assert outcome.action == RowAction.NEW, outcome.errors
    assert "to_internal_value" in vars(tags)
    assert "to_internal_value" in vars(tags.child_relation)
    validator.close()
    assert "to_internal_value" not in vars(tags)
    assert "to_internal_value" not in vars(tags.child_relation)
    assert validator.related[0].cache == {}


def test_close_gives_a_field_back_what_its_instance_held(catalogue):
    tags = CatalogueItemImportJob().get_serializer().fields["tags"]

    def own(data):
        return ["own"]

    tags.to_internal_value = own
    related = BatchRelated("tags", tags)
    assert tags.to_internal_value is not own
    related.close()
    related.close()  # twice: nothing more to give back
    assert tags.to_internal_value is own
    assert "to_internal_value" not in vars(tags.child_relation)


def _pools(shelf_to):
    """Values a column of ``Everything`` may hold or be given, by field name (``shelf`` refers
    to a category by ``shelf_to``)."""
    from datetime import UTC, date, datetime, time, timedelta
    from uuid import UUID

    from tests.testapp.models import Category

    c1, c2 = Category(pk=1, code="a"), Category(pk=2, code="b")
    aware = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    decimals = ["1.5", "1.500", "1.50", "1.5004", "1.5005", "-1.5005", "0", "-0", "0.000", "9.999"]
    return {
        "notes": ["", "a", "A", "a\tb", "ünï"],
        "slug": ["", "x", "x-y"],
        "amount": [None, *map(Decimal, decimals)],
        "small": [0, 1, -1, 32767],
        "count": [0, 5, 6],
        "big": [0, 2**40, 2**40 + 1],
        "positive": [0, 1],
        "ratio": [None, 0.1, 0.30000000000000004, 0.3, 1.0],
        "flag": [True, False, 1, 0],
        "maybe": [None, True, False],
        "day": [None, date(2026, 5, 1), date(2026, 5, 2)],
        "moment": [None, aware, aware.replace(tzinfo=None), aware + timedelta(hours=1)],
        "clock": [None, time(1, 2), time(1, 2, 3)],
        "span": [None, timedelta(0), timedelta(seconds=1)],
        "data": [None, {}, {"a": 1}, [1, 2], "x", 1],
        "ref": [None, UUID(int=1), UUID(int=2)],
        "category": [None, c1, c2, 1, 2],
        "shelf": [None, c1, c2, getattr(c1, shelf_to), getattr(c2, shelf_to)],
        "label": ["plain", "Plain", ""],
        "code": ["db-code", "x"],
    }


def assert_batches_compare_alike(validator: BatchValidator, cases: list) -> None:
    """The cases (validated data, stored row, changes) a batch at a time, column by column
    (``_compare_batch``), with rows that update nothing (new) among them."""
    from data_exchange_tool.imports.outcomes import RowOutcome

    for start in range(0, len(cases), 700):
        batch = cases[start : start + 700]
        outcomes = [RowOutcome(i, [], {}, validated=v) for i, (v, _, _) in enumerate(batch)]
        stored_rows = [None if i % 9 == 4 else st for i, (_, st, _) in enumerate(batch)]
        validator._compare_batch(list(zip(outcomes, stored_rows, strict=True)))
        for outcome, stored, (_, _, rule) in zip(outcomes, stored_rows, batch, strict=True):
            if stored is None:
                assert (outcome.action, outcome.changes, outcome.pk) == (RowAction.NEW, {}, None)
                continue
            assert outcome.changes == rule
            assert list(outcome.changes) == list(rule)  # in the columns' order
            assert outcome.pk == stored[0]
            assert outcome.action == (RowAction.UPDATE if rule else RowAction.UNCHANGED)


def test_the_previews_comparison_of_validated_data_gives_the_rows_changes():
    """The preview compares a row's validated data with the stored row without building the row
    it would write (``_compare_batch``, a row alone, then a batch at a time): on generated
    cases (stored values as the database gives them back) it finds the same changes as the
    comparison of the written row (``_compare_row``) and as the rule it stands for, a value
    normalized as the database holds it (``codecs.normalizer``) against the stored one."""
    import random
    from datetime import UTC

    from data_exchange_tool.imports.outcomes import RowOutcome
    from tests.testapp.models import Everything, EverythingImportJob

    job = EverythingImportJob()
    validator = BatchValidator(job, list(job.get_serializer().fields))
    try:
        assert validator.compared
        assert not validator.files
        shelf_to = Everything._meta.get_field("shelf").target_field.attname
        pools = _pools(shelf_to)
        names = [name for name, *_ in validator.compared]
        assert set(names) <= set(pools), set(names) - set(pools)
        rng = random.Random(20261202)
        fields = {name: Everything._meta.get_field(name) for name in names}

        def stored_value(name, value):
            """A value as the database gives it back: decimals at the column's places, aware
            datetimes (USE_TZ), booleans as booleans."""
            field = fields[name]
            if isinstance(value, Decimal):
                return value.quantize(Decimal(1).scaleb(-field.decimal_places))
            if name == "moment" and value is not None and value.tzinfo is None:
                return value.replace(tzinfo=UTC)
            if name == "flag":
                return bool(value)
            if hasattr(value, "pk"):  # a related object: stored as its key
                return getattr(value, field.target_field.attname)
            return value

        changed = unchanged = 0
        cases: list[tuple[dict, tuple, dict]] = []
        for case in range(5000):
            validated = {n: rng.choice(pools[n]) for n in names if rng.random() < 0.9}
            # Most columns hold what the row gives (as stored), the others another value.
            stored = (
                case,
                *[
                    stored_value(n, validated[n] if n in validated and rng.random() < 0.9
                                 else rng.choice(pools[n]))
                    for n in names
                ],
            )  # fmt: skip
            by_data = RowOutcome(case, [], {}, validated=validated)
            by_row = RowOutcome(case, [], {}, validated=validated)
            validator._compare_batch([(by_data, stored)])
            validator._compare_row(by_row, stored)
            row = validator.shape.row(validated)
            rule = {}
            for (name, attname, _, normalize), old in zip(
                validator.compared, stored[1:], strict=True
            ):
                if attname in row:
                    value = row[attname] if normalize is None else normalize(row[attname])
                    if value != old:
                        rule[name] = (old, validated[name])
            assert by_data.changes == by_row.changes == rule, (validated, stored)
            changed += bool(rule)
            unchanged += not rule
            cases.append((validated, stored, rule))
        assert changed > 100  # the cases reach both answers
        assert unchanged > 100
        assert_batches_compare_alike(validator, cases)
    finally:
        validator.close()


# --- reading ahead: a batch validated before the one before it is written ----------------------


@pytest.mark.django_db
def test_a_batch_reads_ahead_only_when_its_validation_cannot_see_earlier_writes(monkeypatch):
    """``reads_ahead``: nothing the validation asks the database depends on the import's own
    earlier rows. A unique set handed to DRF, a related field naming the target's own rows, a
    nested serializer or a ``before_import_row`` hook each keep the batches in line."""
    from rest_framework import serializers
    from rest_framework.validators import UniqueValidator

    from example_project.demo.models import Partner
    from example_project.demo.serializers import ImportStockRecordSerializer

    def reads_ahead() -> bool:
        validator = BatchValidator(StockRecordImportJob(), STOCK_HEADERS)
        validator.close()  # its keys' on-disk store
        return validator.reads_ahead

    assert reads_ahead()

    class OwnUnique(UniqueValidator):  # not DRF's own: DRF's code answers it, row by row
        pass

    def with_change(change):
        def get_serializer(self):
            serializer = ImportStockRecordSerializer()
            change(serializer)
            return serializer

        return get_serializer

    def add_field(name, field):
        return lambda serializer: serializer.fields.__setitem__(name, field)

    changes = {
        "own unique": lambda s: s.fields["partner_sku"].validators.append(
            OwnUnique(queryset=StockRecord.objects.all())
        ),
        "the target's rows": add_field(
            "partner", serializers.PrimaryKeyRelatedField(queryset=StockRecord.objects.all())
        ),
        "nested": add_field("nested", ImportStockRecordSerializer(required=False)),
    }
    for name, change in changes.items():
        monkeypatch.setattr(StockRecordImportJob, "get_serializer", with_change(change))
        assert not reads_ahead(), name
    # Another model's rows, or the target's through a read-only field, change nothing.
    for change in [
        add_field("partner", serializers.PrimaryKeyRelatedField(queryset=Partner.objects.all())),
        add_field("shown", serializers.PrimaryKeyRelatedField(read_only=True)),
    ]:
        monkeypatch.setattr(StockRecordImportJob, "get_serializer", with_change(change))
        assert reads_ahead()
    monkeypatch.undo()
    monkeypatch.setattr(
        StockRecordImportJob, "before_import_row", lambda self, row, row_number: None
    )
    assert not reads_ahead()
    # A list of the target's rows names them through its child relation.
    many = serializers.PrimaryKeyRelatedField(queryset=StockRecord.objects.all(), many=True)
    assert _may_see_writes(many, StockRecord)
    assert not _may_see_writes(many, Partner)
