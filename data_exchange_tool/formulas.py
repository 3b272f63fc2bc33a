"""
Neutralise spreadsheet formulas in the files we write (error reports, templates, exports).

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula when a spreadsheet opens the file ("CSV injection"). ``neutralize`` prefixes such text with
a single quote, which spreadsheets show as text. Numbers are never touched: neither numeric values
nor text that reads as a plain number (``-12.50``, ``+3``), so a corrected file imports unchanged.
Turn it off with ``DATA_EXCHANGE_NEUTRALIZE_FORMULAS = False``.

The import takes the quote off again (``restore``), so an exported file imports back unchanged:
a cell whose text is one or more quotes followed by a formula character loses its first quote.
For that to be exact, text that already starts with quotes before a formula character (``'=x``)
gains one more quote on the way out (``''=x``), and comes back as ``'=x``.
"""

from __future__ import annotations

import re
from typing import Any

from data_exchange_tool.conf import app_settings

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def is_formula_like(text: str) -> bool:
    """Return True when a spreadsheet would read ``text`` as a formula, or when ``text`` would
    lose a quote on import (quotes, then a formula character)."""
    return text.lstrip("'").startswith(FORMULA_PREFIXES) and not NUMBER.fullmatch(text)


def neutralize(value: Any) -> Any:
    """Return ``value`` safe to write into a CSV or XLSX cell; only formula-like text changes."""
    if not isinstance(value, str) or not app_settings.NEUTRALIZE_FORMULAS:
        return value
    return "'" + value if is_formula_like(value) else value


def restore(text: str) -> str:
    """Return a cell's text as it was before ``neutralize``: the inverse, used by the import."""
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_PREFIXES):
        return text[1:]
    return text
