"""Small helpers shared by imports and exports."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Yield lists of at most ``size`` items (``itertools.batched`` from Python 3.12 on)."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


E = TypeVar("E", bound=BaseException)


def detached(exc: E) -> E:
    """Return ``exc`` without its traceback, and without the exceptions it was raised from or
    during (their tracebacks cleared too).

    A caught exception that outlives its ``except`` block holds, through its traceback, the
    frames that raised and caught it, their callers' and their locals (a batch's rows). Kept in
    a local of one of those frames, or in a cycle of its own (Django's ``ValidationError`` lists
    itself in its ``error_list``), it is freed only by the garbage collector, with all it holds.
    """
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        link.__traceback__ = None
        link = link.__cause__ or link.__context__
    exc.__context__ = None
    if exc.__cause__ is not None:
        exc.__cause__ = None
    return exc
