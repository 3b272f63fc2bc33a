"""ColumnMap.row_data: the quick path for ordinary rows gives what the cell-by-cell path gives."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from data_exchange_tool.imports.columns import ColumnMap, normalize_header


class RowSerializer(serializers.Serializer):
    name = serializers.CharField()
    note = serializers.CharField(required=False, allow_blank=True)
    size = serializers.IntegerField(required=False, allow_null=True)


def column_map(headers, settings, neutralize=True):
    settings.DATA_EXCHANGE_NEUTRALIZE_FORMULAS = neutralize
    return ColumnMap(headers, dict(RowSerializer().fields), {})


ROWS = [
    ["a", "b", "3", "ignored"],
    ["a", "", "3", "x"],
    ["a", "  ", "3", "x"],
    ["a", "b"],
    ["a\x00", "b", "3"],
    ["'=SUM(A1)", "b", "3"],
    ["a", "'=1+1", "3"],
    ["a", "line\n'quoted", "3"],
    ["a", "b", " 3 "],
    ["", "", ""],
    [],
]


@pytest.mark.parametrize("neutralize", [True, False])
@pytest.mark.parametrize("cells", ROWS)
def test_quick_path_matches_cell_by_cell(cells, neutralize, settings):
    columns = column_map(["Name", "Note", "Size", "Other"], settings, neutralize)
    assert columns.row_data(cells) == columns._row_data_cell_by_cell(cells)


def test_ordinary_row_takes_every_mapped_cell_as_text(settings):
    columns = column_map(["Other", "Size", "Name"], settings)
    assert columns.row_data(["x", "4", "Bob"]) == ({"size": "4", "name": "Bob"}, [])


def test_one_mapped_column_that_is_not_the_first(settings):
    columns = column_map(["Other", "Skip", "Name"], settings)
    assert columns.row_data(["x", "y", "Bob"]) == ({"name": "Bob"}, [])
    assert columns.row_data(["x", "y"]) == ({}, [])


def test_nul_and_formula_cells(settings):
    columns = column_map(["Name", "Note"], settings)
    assert columns.row_data(["a\x00b", "n"]) == ({"name": "a\x00b", "note": "n"}, ["name"])
    assert columns.row_data(["'=A1", "n"])[0]["name"] == "=A1"
    off = column_map(["Name", "Note"], settings, neutralize=False)
    assert off.row_data(["'=A1", "n"])[0]["name"] == "'=A1"


@pytest.mark.parametrize(
    ("text", "normalized"),
    [("Partner", "partner"), ("  Partner   SKU ", "partner sku"), ("NUM_IN_STOCK", "num_in_stock")],
)
def test_normalize_header(text, normalized):
    assert normalize_header(text) == normalized


@pytest.mark.parametrize("neutralize", [True, False])
def test_a_batchs_rows_data_is_each_rows_row_data(neutralize, settings):
    """``rows_data`` (a batch read at once) gives each row's ``row_data``: on random batches of
    ordinary rows and rows with blank, short, NUL, quoted-formula or whitespace cells."""
    import random

    columns = column_map(["Name", "Note", "Size", "Other"], settings, neutralize)
    rng = random.Random(8)
    ordinary = [["a", "b", "3", "x"], ["é", "n o", "12", ""], ["x" * 50, "y", "0", "z"]]
    batches = 0
    for _ in range(300):
        pool = ordinary if rng.random() < 0.3 else ordinary + ROWS
        batch = [list(rng.choice(pool)) for _ in range(rng.randint(1, 12))]
        assert columns.rows_data(batch) == [columns.row_data(cells) for cells in batch], batch
        batches += 1
    assert columns.rows_data([]) == []
    assert batches == 300
    one = ColumnMap(["Name"], {"name": RowSerializer().fields["name"]}, {})
    for batch in ([[""]], [[" "], ["a"]], [["'=1"], ["b"]], [["a"], ["b\x00"]]):
        assert one.rows_data(batch) == [one.row_data(cells) for cells in batch], batch
