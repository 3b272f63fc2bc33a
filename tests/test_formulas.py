"""``formulas.neutralize``: formula-like text is quoted, numbers and plain text are not."""

from __future__ import annotations

from decimal import Decimal

import pytest

from data_exchange_tool.formulas import neutralize


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-12.50", "-12.50"),
        ("+3", "+3"),
        ("-1e5", "-1e5"),
        ("plain", "plain"),
        ("", ""),
        (-5, -5),
        (Decimal("-1.5"), Decimal("-1.5")),
        (None, None),
    ],
)
def test_neutralize(value, expected):
    assert neutralize(value) == expected


def test_it_can_be_turned_off(settings):
    settings.DATA_EXCHANGE_NEUTRALIZE_FORMULAS = False
    assert neutralize("=1+2") == "=1+2"
