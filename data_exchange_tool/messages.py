"""
Messages a person reads: bounded in length and free of control characters.

A message is built from what a file holds (its headers, its cells, the bytes of a file that is not
text) as much as from our own words, so it can be as long as a 10,000-column header or hold raw
control characters. Every message stored on a job or a row error, and every one shown by the admin
and the API, goes through ``clean``: control characters are dropped (a tab becomes a space; line
breaks are kept), and a message longer than ``MAX_LENGTH`` is cut with a tail saying how much was
left out. ``listing`` names the first items of a long list and counts the rest, so a message stays
readable before it is ever cut.

The model field ``MessageField`` (``models.base``) calls ``clean`` on every value it stores and
reads, so no path skips it: ``save()``, ``bulk_create``, ``update()``, rows stored before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: Longest message kept, in characters (the tail included).
MAX_LENGTH = 2000
#: Items ``listing`` names before it counts the rest.
MAX_LISTED = 20
#: What a person can do after a failed import: nothing was written and the file is still there.
RERUN_HINT = "Run the preview again (with a corrected file if needed), then confirm."

# C0 and C1 controls but tab, line feed and carriage return; DEL; lone surrogates (which no
# database encoding stores); the bidirectional overrides and isolates that reorder what is shown.
_DROPPED = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]"
)
_TABS = re.compile(r"\t|\r\n?")


def more(count: int, noun: str = "") -> str:
    """Return the tail that counts what was left out: ``"…and 1,234 more"``."""
    return f"…and {count:,} more{f' {noun}' if noun else ''}"


def clean(text: Any, max_length: int = MAX_LENGTH) -> str:
    """Return ``text`` without control characters and at most ``max_length`` characters long.

    A tab becomes a space and a carriage return a line break; a message cut short ends with
    ``"…and N more characters"``.
    """
    text = "" if text is None else str(text)
    if _DROPPED.search(text):
        text = _DROPPED.sub("", text)
    if "\t" in text or "\r" in text:
        text = _TABS.sub(lambda match: " " if match.group() == "\t" else "\n", text)
    if len(text) <= max_length:
        return text
    # The tail's length depends on the count it shows: size it for the largest count possible.
    longest_tail = len(" " + more(len(text), "characters"))
    head = text[: max(0, max_length - longest_tail)].rstrip()
    return f"{head} {more(len(text) - len(head), 'characters')}"


def sentence(text: Any) -> str:
    """Return ``text`` stripped and ending as a sentence does (a full stop added if need be)."""
    text = str(text).strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def listing(items: Iterable[Any], limit: int = MAX_LISTED, separator: str = ", ") -> str:
    """Return the first ``limit`` items joined, then a count of the rest (``"…and 98 more"``)."""
    items = list(items)
    shown = separator.join(str(item) for item in items[:limit])
    if len(items) <= limit:
        return shown
    return f"{shown}{separator}{more(len(items) - limit)}"
