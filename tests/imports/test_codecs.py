"""Columns of the target: rows from validated data, the checks, comparisons and encoding."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework import serializers

from data_exchange_tool.imports.codecs import (
    Clock,
    RowShape,
    ValueChecks,
    covered,
    decimal_fits,
    escape,
    normalizer,
)
from data_exchange_tool.imports.copying import row_of_key
from example_project.demo.models import StockRecord
from example_project.demo.serializers import ImportStockRecordSerializer
from tests.testapp.models import Category, Everything
from tests.testapp.serializers import EverythingSerializer


def field(name: str):
    return Everything._meta.get_field(name)


def test_decimal_fits_rounds_half_away_from_zero_first():
    assert decimal_fits(Decimal("0.99"), 2, 2)
    assert not decimal_fits(Decimal("0.995"), 2, 2)
    assert decimal_fits(Decimal("-0.00"), 2, 2)
    assert decimal_fits(Decimal("9" * 10 + ".994"), 12, 2)
    assert not decimal_fits(Decimal("9" * 10 + ".995"), 12, 2)
    assert not decimal_fits(Decimal("1E+30"), 12, 2)


def test_escape_for_text_copy():
    assert escape("plain") == "plain"
    assert escape("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e"
    assert escape("\\N") == "\\\\N"  # the two characters, not NULL


@pytest.mark.django_db
def test_a_row_holds_the_columns_a_serializer_writes():
    red = Category.objects.create(code="red")
    shape = RowShape(Everything, ["name", "category", "shelf", "not_a_column"])
    assert shape.attnames == ["name", "category_id", "shelf_id"]
    row = shape.row({"name": "x", "category": red, "shelf": red, "not_a_column": 1})
    assert row == {"name": "x", "category_id": red.pk, "shelf_id": "red"}  # shelf: to_field
    assert shape.row({"name": "y"}) == {"name": "y"}  # what the row does not carry stays out
    by_attname = RowShape(Everything, ["category_id", "category"])  # a source may be an attname
    assert by_attname.columns == [("category_id", field("category"))]  # one column, once
    assert by_attname.row({"category_id": red}) == {"category_id": red.pk}
    assert by_attname.row({"category_id": 7}) == {"category_id": 7}


def test_checks_refuse_what_the_column_would():
    checks = ValueChecks(
        [field("label"), field("amount"), field("data"), field("notes")], connection
    )
    assert checks.refusals({"label": "x" * 10, "amount": Decimal("99999.999")}) == []
    assert checks.refusals(
        {"label": "x" * 11, "amount": Decimal("99999.9995"), "data": {"k": "\x00"}}
    ) == [
        ("label", "Ensure this value has at most 10 characters (it has 11)."),
        ("amount", "Ensure that there are no more than 8 digits in total."),
        ("data", "The JSON value contains a NUL character."),
    ]
    assert checks.refusals({"notes": "a \x00 b"}) == [
        ("notes", "The text contains a NUL character.")
    ]
    assert checks.refusals({"amount": Decimal("NaN")}) == [("amount", "Enter a finite number.")]


def test_checks_a_serializer_field_already_makes_are_left_out():
    model_serializer = ImportStockRecordSerializer().fields
    stock = StockRecord._meta
    for name in ("partner", "product", "partner_sku", "price", "num_in_stock", "num_allocated"):
        assert covered(model_serializer[name], stock.get_field(name), connection), name
    declared = EverythingSerializer().fields
    assert not covered(declared["label"], field("label"), connection)  # no max_length
    assert not covered(declared["small"], field("small"), connection)  # no bounds
    assert not covered(declared["data"], field("data"), connection)
    bounded = serializers.IntegerField(min_value=0, max_value=10)
    assert covered(bounded, field("small"), connection)
    checks = ValueChecks(
        [stock.get_field("partner_sku"), stock.get_field("price")],
        connection,
        {"partner_sku": model_serializer["partner_sku"]},
    )
    assert [attname for attname, _ in checks.checks] == ["price"]


def test_values_compare_as_the_database_holds_them():
    assert normalizer(field("amount"))(Decimal("1.0005")) == Decimal("1.001")
    assert normalizer(field("amount"))(None) is None
    naive = datetime.datetime(2024, 1, 1, 10, 0)  # noqa: DTZ001 - a naive value, on purpose
    assert normalizer(field("moment"))(naive).tzinfo is not None
    assert normalizer(field("name"))("x") == "x"


def test_the_clock_gives_each_kind_its_value():
    clock = Clock.read()
    assert clock.value_for(field("created")) is clock.now
    assert clock.value_for(field("touched_on")) is clock.today


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        ("Key (partner_id, partner_sku)=(7, b, c) already exists.", 1),  # a value holds ", "
        ("Key (partner_id, partner_sku)=(7, x) already exists.", None),
        ('Key (product_id)=(9) is not present in table "demo_product".', 2),
        ("Key (partner_sku)=(a) already exists.", 0),
        ("no key here", None),
    ],
)
def test_the_refused_row_is_found_by_the_key_the_database_names(detail, expected):
    columns = ["partner_id", "partner_sku", "product_id"]
    data = "7\ta\t1\n7\tb, c\t1\n8\td\t9\n"
    assert row_of_key(detail, columns, data) == expected
