"""
Number formats: a number stored in a spreadsheet, and its format code, as the text a person sees.

A spreadsheet stores numbers; its cells show them through a number format. The readers give each
cell as the text a person sees, in a form the row serializer can parse:

- General and ``@``: the number as General shows it, 15 significant digits (``0.1 + 0.2`` is
  ``0.3``), whole numbers without ``.0``;
- zero padding (``00000``): the digits as shown (7 is ``00007``);
- fixed decimals (``0.00``, ``#,##0.00``, currency): the digits, sign and decimals as shown,
  rounded half up from 15 significant digits as Excel rounds (2.675 is ``2.68``, where Python's
  ``format`` gives ``2.67``); grouping separators and currency symbols are left out (``1,234.50
  €`` is ``1234.50``: a serializer cannot parse the first), and the sign is a leading ``-``
  (``(1,000)`` sections too);
- percentages and scientific notation: the stored value as General (``12.50%`` is ``0.125``,
  ``1.23E+05`` is ``123456``): ``%`` and the mantissa's rounding would change the value;
- dates: ISO dates (``2024-03-05``), whatever the format shows; date-times ISO with seconds
  (``2024-03-05T14:30:00``), and a date-time at midnight is a date (DRF's ``DateField`` refuses
  a time part, ``DateTimeField`` takes a bare date); times ``14:30:00``; durations (``[h]:mm``)
  the hours elapsed (``26:00:00``);
- a format made only of quoted text (``"TRUE";"TRUE";"FALSE"``, booleans stored as numbers):
  that text.

``formatter_for(code, date1904, format_id)`` returns a function from the number as written in the
file (``"45356.604166666664"``) to its text, or None for General (``general_text``, the quick
path). ``cell_text(value)`` gives the same texts for Python values (calamine, xlrd).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

Formatter = Callable[[str], str]

BUILTIN_FORMATS = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00",
    5: '"$"#,##0_);("$"#,##0)', 6: '"$"#,##0_);[Red]("$"#,##0)',
    7: '"$"#,##0.00_);("$"#,##0.00)', 8: '"$"#,##0.00_);[Red]("$"#,##0.00)',
    9: "0%", 10: "0.00%", 11: "0.00E+00", 12: "# ?/?", 13: "# ??/??",
    14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy", 18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 22: "m/d/yy h:mm",
    37: "#,##0_);(#,##0)", 38: "#,##0_);[Red](#,##0)", 39: "#,##0.00_);(#,##0.00)",
    40: "#,##0.00_);[Red](#,##0.00)", 41: '_(* #,##0_);_(* \\(#,##0\\);_(* "-"_);_(@_)',
    42: '_("$"* #,##0_);_("$"* \\(#,##0\\);_("$"* "-"_);_(@_)',
    43: '_(* #,##0.00_);_(* \\(#,##0.00\\);_(* "-"??_);_(@_)',
    44: '_("$"* #,##0.00_)_("$"* \\(#,##0.00\\)_("$"* "-"??_)_(@_)',
    45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0", 48: "##0.0E+0", 49: "@",
}  # fmt: skip
#: Ids East Asian Excel writes without defining them (locale dates and times); openpyxl reads
#: them as General (a serial number). They are dates, or times for 32-35.
IMPLICIT_DATE_IDS = frozenset(range(27, 37)) | frozenset(range(50, 59))
IMPLICIT_TIME_IDS = frozenset({32, 33, 34, 35})

WINDOWS_EPOCH = datetime.datetime(1899, 12, 30)  # noqa: DTZ001 - spreadsheets have no zones
MAC_EPOCH = datetime.datetime(1904, 1, 1)  # noqa: DTZ001
MIDNIGHT = datetime.time(0, 0)

_LITERALS = re.compile(r'"[^"]*"|\\.|_.|\*.|\[(?!h+\]|m+\]|s+\])[^\]]*\]', re.IGNORECASE)
_DURATION = re.compile(r"\[h+\]|\[m+\]|\[s+\]", re.IGNORECASE)
_QUOTED = re.compile(r'"([^"]*)"')


def builtin_code(format_id: int) -> str:
    """Return the format code of a built-in format id ("General" when unknown)."""
    return BUILTIN_FORMATS.get(format_id, "General")


def split_sections(code: str) -> list[str]:
    """Split a format code on the ``;`` outside quotes and escapes."""
    sections: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in code:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            sections.append("".join(current))
            current = []
            continue
        current.append(char)
    sections.append("".join(current))
    return sections


# --- General ---------------------------------------------------------------------------------


def number_text(value: float) -> str:
    """Return a float as General shows it: ``5.0`` -> ``"5"``, ``1e-05`` -> ``"0.00001"``.

    15 significant digits, no exponent (a very large number gives all its digits).
    """
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = format(Decimal(format(value, ".15g")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def short_decimal_text(raw: str) -> str:
    """Return ``number_text(float(raw))`` for a plain decimal of at most 15 digits, else "".

    The quick path: such a number's text is its digits without trailing zeros (``"1.50"`` ->
    ``"1.5"``), which is what the float's 15-digit rendering gives back.
    """
    if len(raw) > 16 or raw[0] == "." or raw[:2] == "-." or raw[-1] == ".":
        return ""
    whole, _, fraction = raw.partition(".")
    if (whole[:1] == "0" and len(whole) > 1) or (whole[:2] == "-0" and len(whole) > 2):
        return ""
    if not (whole.lstrip("-").isdigit() and fraction.isdigit()):
        return ""
    fraction = fraction.rstrip("0")
    if not fraction:
        return "0" if whole == "-0" else whole
    return f"{whole}.{fraction}"


def general_text(raw: str) -> str:
    """Return the General text of a number as written in the file (``"5"``, ``"1.5E-3"``)."""
    try:
        if "E" in raw or "e" in raw:
            return number_text(float(raw))
        if "." in raw:
            return short_decimal_text(raw) or number_text(float(raw))
    except ValueError:
        return raw
    if raw[:1] in ("0", "+") or raw[:2] == "-0":
        return str(int(raw)) if raw.lstrip("+-").isdigit() else raw
    return raw


# --- numbers with a format -------------------------------------------------------------------


def excel_decimal(raw: str) -> Decimal:
    """Return the stored number rounded to 15 significant digits, as Excel displays it."""
    value = Decimal(raw)
    if not value.is_finite() or value.is_zero() or len(value.as_tuple().digits) <= 15:
        return value
    return value.quantize(Decimal(1).scaleb(value.adjusted() - 14), ROUND_HALF_UP)


def fixed_text(raw: str, decimals: int, min_digits: int, optional: int) -> str:
    """Return ``raw`` with ``decimals`` decimals (and ``optional`` more), padded, not grouped."""
    value = excel_decimal(raw)
    places = decimals + optional
    rounded = value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    text = format(abs(rounded), "f")
    whole, _, fraction = text.partition(".")
    if optional:
        fraction = fraction.rstrip("0").ljust(decimals, "0")
    whole = whole.zfill(min_digits) if min_digits else whole.lstrip("0")
    text = f"{whole}.{fraction}" if fraction else (whole or "0")
    return sign + text


def parse_number_section(section: str) -> Formatter | None:
    """Return a formatter for a plain number section, or None to show it as General.

    Percentages, scientific notation and fractions give the stored value (General).
    """
    cleaned = _LITERALS.sub("", section)
    upper = cleaned.upper()
    if "GENERAL" in upper or "/" in cleaned or "%" in cleaned or "E+" in upper or "E-" in upper:
        return None
    core = re.sub(r"[^0#?.]", "", cleaned)
    if not core.strip("."):
        return None
    whole, _, fraction = core.partition(".")
    min_digits = whole.count("0") + whole.count("?")
    decimals = len(fraction.rstrip("#?"))
    optional = len(fraction) - decimals
    if not (decimals or optional) and min_digits <= 1:
        return integer_formatter(min_digits)
    if decimals and not optional and min_digits <= 1:
        return decimals_formatter(decimals)
    return lambda raw: fixed_text(raw, decimals, min_digits, optional)


def decimals_formatter(decimals: int) -> Formatter:
    """Return the formatter of ``0.00`` and kin; plain short decimals are padded, not rounded."""

    def fixed(raw: str) -> str:
        plain = "E" not in raw and "e" not in raw and raw[:1] != "0" and raw[:2] != "-0"
        if plain and len(raw) <= 15:
            whole, _, fraction = raw.partition(".")
            if len(fraction) <= decimals and whole.lstrip("-").isdigit():
                return f"{whole}.{fraction.ljust(decimals, '0')}"
        return fixed_text(raw, decimals, 1, 0)

    return fixed


def integer_formatter(min_digits: int) -> Formatter:
    """Return the formatter of ``0`` / ``#,##0``: whole numbers, rounded half up."""

    def integer_text(raw: str) -> str:
        if "." not in raw and "E" not in raw and "e" not in raw:
            return general_text(raw)
        return fixed_text(raw, 0, min_digits, 0)

    return integer_text


def zero_pad_formatter(width: int) -> Formatter:
    """Return the formatter of ``00000``: whole numbers padded to ``width`` digits."""

    def padded(raw: str) -> str:
        if "." in raw or "E" in raw or "e" in raw or raw[:1] in ("+", "-"):
            return fixed_text(raw, 0, width, 0)
        return raw.zfill(width)

    return padded


# --- dates -----------------------------------------------------------------------------------


def date_kind(section: str) -> str:
    """Return "date", "datetime", "time", "duration" or "" for a format section."""
    if _DURATION.search(section):
        return "duration"
    cleaned = _LITERALS.sub("", section).lower().replace("am/pm", "").replace("a/p", "")
    if "e+" in cleaned or "e-" in cleaned:  # scientific, not an era
        return ""
    has_time = "h" in cleaned or "s" in cleaned
    has_date = "d" in cleaned or "y" in cleaned or "e" in cleaned or "g" in cleaned
    if "m" in cleaned and not has_time:
        has_date = True
    if has_date:
        return "datetime" if has_time else "date"
    return "time" if has_time else ""


def serial_to_datetime(serial: float, date1904: bool) -> datetime.datetime:
    """Return the date-time of a serial number (1900 or 1904 date system)."""
    if date1904:
        epoch = MAC_EPOCH
    else:
        epoch = WINDOWS_EPOCH
        if 0 < serial < 60:  # Excel's 1900 counts a 29 February 1900 that never was
            serial += 1
    days, fraction = divmod(serial, 1)
    milliseconds = round(fraction * 86_400_000)
    return epoch + datetime.timedelta(days=days, milliseconds=milliseconds)


def clock_text(milliseconds: int, fractions: bool) -> str:
    """Return ``hh:mm:ss`` (hours may pass 24) from milliseconds."""
    if not fractions:
        milliseconds = round(milliseconds / 1000) * 1000
    seconds, millis = divmod(milliseconds, 1000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    text = f"{hours:02d}:{minute:02d}:{second:02d}"
    return f"{text}.{millis:03d}" if millis else text


def moment_text(moment: datetime.datetime, kind: str, fractions: bool = False) -> str:
    """Return a date-time as a date, a time, or a date-time (a date at midnight)."""
    if kind == "date":
        return moment.date().isoformat()
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
    clock = clock_text(seconds * 1000 + moment.microsecond // 1000, fractions)
    if kind == "time":
        return clock if not clock.startswith("24") else "00" + clock[2:]
    if clock.startswith("24"):  # rounded up to the next day
        moment += datetime.timedelta(days=1)
        clock = "00" + clock[2:]
    if clock == "00:00:00":
        return moment.date().isoformat()
    return f"{moment.date().isoformat()}T{clock}"


def duration_text(days: float, fractions: bool = False) -> str:
    """Return a duration in days as the hours, minutes and seconds elapsed (``26:00:00``)."""
    sign = "-" if days < 0 else ""
    return sign + clock_text(round(abs(days) * 86_400_000), fractions)


def date_formatter(kind: str, date1904: bool, fractions: bool) -> Formatter:
    """Return the formatter of a date, date-time, time or duration format."""

    def as_date(raw: str) -> str:
        try:
            moment = serial_to_datetime(float(raw), date1904)
        except (OverflowError, ValueError):
            return general_text(raw)
        return moment_text(moment, kind, fractions)

    def as_duration(raw: str) -> str:
        return duration_text(float(raw), fractions)

    return cached(as_duration if kind == "duration" else as_date)


def cached(formatter: Formatter, size: int = 65_536) -> Formatter:
    """Memoise a formatter (dates repeat); the memo is emptied when full, so memory is bounded."""
    memo: dict[str, str] = {}

    def lookup(raw: str) -> str:
        text = memo.get(raw)
        if text is None:
            if len(memo) >= size:
                memo.clear()
            text = memo[raw] = formatter(raw)
        return text

    return lookup


# --- the entry points ------------------------------------------------------------------------


def literal_formatter(sections: list[str]) -> Formatter | None:
    """Return a formatter for codes whose sections are only quoted text (booleans as numbers)."""
    texts = []
    for section in sections[:3]:
        cleaned = _LITERALS.sub("", section).strip()
        quoted = _QUOTED.findall(section)
        if cleaned or len(quoted) != 1:
            return None
        texts.append(quoted[0])

    def literal(raw: str) -> str:
        value = float(raw)
        if value > 0 or len(texts) == 1:
            return texts[0]
        if value < 0:
            return texts[1] if len(texts) > 1 else texts[0]
        return texts[2] if len(texts) > 2 else texts[0]

    return literal


def safe(formatter: Formatter) -> Formatter:
    """Wrap a formatter so a value it cannot take is shown as General text."""

    def guarded(raw: str) -> str:
        try:
            return formatter(raw)
        except (ValueError, InvalidOperation, OverflowError):
            return general_text(raw)

    return guarded


@lru_cache(maxsize=512)
def formatter_for(code: str, date1904: bool = False, format_id: int = -1) -> Formatter | None:
    """Return the formatter of a number format code, or None for General."""
    if format_id in IMPLICIT_DATE_IDS and code == "General":
        kind = "time" if format_id in IMPLICIT_TIME_IDS else "date"
        return safe(date_formatter(kind, date1904, False))
    if code in ("General", "@", ""):
        return None
    sections = split_sections(code)
    kind = date_kind(sections[0])
    if kind:
        return safe(date_formatter(kind, date1904, ".0" in sections[0]))
    formatter = literal_formatter(sections)
    if formatter is None and sections[0].strip("0") == "" and len(sections[0]) > 1:
        formatter = zero_pad_formatter(len(sections[0]))
    if formatter is None:
        formatter = parse_number_section(sections[0])
    return safe(formatter) if formatter is not None else None


def is_date_format(code: str, format_id: int = -1) -> bool:
    """Return True when numbers of this format are dates, times or durations."""
    if format_id in IMPLICIT_DATE_IDS and code == "General":
        return True
    return bool(code not in ("General", "@", "") and date_kind(split_sections(code)[0]))


def cell_text(value: Any, number_format: str = "General") -> str:
    """Return the text a person sees for a Python value (what calamine and xlrd give)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        raw = str(value) if isinstance(value, int) else repr(value)
        formatter = formatter_for(number_format)
        return formatter(raw) if formatter is not None else general_text(raw)
    if isinstance(value, datetime.datetime):
        return moment_text(value.replace(tzinfo=None), "datetime")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return duration_text(value.total_seconds() / 86_400)
    return str(value)
