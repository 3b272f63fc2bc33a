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
