"""
Keys already seen in a file, kept on disk.

Duplicate detection must not hold a million keys in Python memory, and must not cost more than
the validation it guards. ``SeenKeys`` keeps every key with the row that first held it in a
private temporary SQLite database (``sqlite3.connect("")`` lives on disk and is deleted when
closed), and a Bloom filter in memory (4 MB, then 2 bytes a key) says which keys of a batch may have
been seen before. Only those few are looked up on disk; most keys are new and cost no query.

Keys are spread over ``BUCKETS`` buckets by hash and written ``KEYS_PER_ROW`` at a time as one row
of text, so writing costs one insert per hundred keys, and a look-up reads one bucket. Keys are
compared by ``repr``, so a match is exact, not a hash collision.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Hashable, Iterable, Sequence
from typing import Protocol

#: Buckets the keys are spread over on disk (a look-up reads one bucket).
BUCKETS = 256
#: Keys of a bucket kept in memory until they are written as one row.
KEYS_PER_ROW = 128
#: Bits of the first Bloom filter (4 MB: 1,000,000 keys give 0.4% false positives, 2,000,000
#: about 1.4%); each later filter has twice the bits of the one before.
FIRST_FILTER_BITS = 1 << 25
#: Keys a filter takes before the next one starts.
BITS_PER_KEY = 16


def key_text(key: Hashable) -> str:
    """Return the text a key is compared by: its ``repr``, on one line and without tabs."""
    text = repr(key)
    if "\n" in text or "\t" in text:
        text = repr(text)
    return text


class BloomFilter:
    """A set of hashes that may answer "maybe" for a hash never added (never "no" for one added).

    Each hash sets two bits, found from its two 32-bit halves. ``check_and_add`` takes a whole
    batch, so the loop runs inside one call.
    """

    def __init__(self, bits: int) -> None:
        self.mask = bits - 1
        self.bits = bytearray(bits >> 3)
        self.capacity = bits // BITS_PER_KEY
        self.count = 0

    def check_and_add(self, hashes: dict[str, int]) -> set[str]:
        """Add the hashes of ``{text: hash}``; return the texts whose hash may have been added
        before (by an earlier call, or earlier in this one)."""
        bits, mask, maybe = self.bits, self.mask, set()
        for text, hashed in hashes.items():
            first, second = hashed & mask, (hashed >> 32) & mask
            byte, bit = first >> 3, 1 << (first & 7)
            other, other_bit = second >> 3, 1 << (second & 7)
            if bits[byte] & bit and bits[other] & other_bit:
                maybe.add(text)
            else:
                bits[byte] |= bit
                bits[other] |= other_bit
        self.count += len(hashes)
        return maybe

    def might_contain(self, hashes: dict[str, int]) -> set[str]:
        """Return the texts of ``{text: hash}`` whose hash may have been added."""
        bits, mask = self.bits, self.mask
        return {
            text
            for text, hashed in hashes.items()
            if bits[(hashed & mask) >> 3] & (1 << (hashed & mask & 7))
            and bits[((hashed >> 32) & mask) >> 3] & (1 << ((hashed >> 32) & mask & 7))
        }


class Namespace:
    """What ``SeenKeys`` keeps in memory for one namespace: filters and unwritten keys."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.filters = [BloomFilter(FIRST_FILTER_BITS)]
        self.pending: list[list[str]] = [[] for _ in range(BUCKETS)]

    def maybe_seen(self, hashes: dict[str, int]) -> set[str]:
        """Add the hashes to the filters; return the texts that may have been seen before."""
        filters = self.filters
        if filters[-1].count + len(hashes) > filters[-1].capacity:
            filters.append(BloomFilter(len(filters[-1].bits) << 4))
        maybe = filters[-1].check_and_add(hashes)
        for older in filters[:-1]:
            maybe |= older.might_contain(hashes)
        return maybe


class KeyLedger(Protocol):
    """What validation asks of the keys of earlier rows: ``SeenKeys`` here, or the keys a part
    stages for the merge (``staging.StagedKeys``)."""

    def check_and_add(
        self, namespace: str, items: Sequence[tuple[Hashable, int]]
    ) -> list[int | None]: ...

    def close(self) -> None: ...


class SeenKeys:
    """A set of ``(namespace, key) -> first row`` on disk, with Bloom filters in memory."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("")
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("PRAGMA cache_size = -8000")  # at most about 8 MB of pages in memory
        self.db.execute(
            "CREATE TABLE seen (ns INTEGER, bucket INTEGER, seq INTEGER, keys TEXT,"
            " PRIMARY KEY (ns, bucket, seq)) WITHOUT ROWID"
        )
        self.namespaces: dict[str, Namespace] = {}
        self.seq = 0

    def check_and_add(
        self, namespace: str, items: Sequence[tuple[Hashable, int]]
    ) -> list[int | None]:
        """Record ``(key, row_number)`` items; return, for each, the earlier row that held it."""
        space = self.namespaces.get(namespace)
        if space is None:
            space = self.namespaces[namespace] = Namespace(len(self.namespaces))
        texts = list(map(repr, [key for key, _ in items]))
        if "\n" in (joined := "".join(texts)) or "\t" in joined:
            texts = [key_text(key) for key, _ in items]
        # Python's hash of a text, negative or not: the filters and buckets take it modulo.
        hashes = dict(zip(texts, map(hash, texts), strict=False))
        maybe = space.maybe_seen(hashes)
        if not maybe and len(hashes) == len(texts):
            # The common batch: every key is new (the filters are sure of a "no") and none is
            # repeated inside the batch (the dict would have merged it).
            self._add(space, list(zip(texts, [row for _, row in items], strict=True)), hashes)
            return [None] * len(items)
        earlier = self._lookup(space, maybe, hashes) if maybe else {}
        result: list[int | None] = []
        new: list[tuple[str, int]] = []
        for text, (_, row_number) in zip(texts, items, strict=True):
            first = earlier.get(text)
            result.append(first)
            if first is None:
                earlier[text] = row_number
                new.append((text, row_number))
        self._add(space, new, hashes)
        return result

    def _add(self, space: Namespace, new: list[tuple[str, int]], hashes: dict[str, int]) -> None:
        pending, full = space.pending, set()
        for text, row_number in new:
            index = hashes[text] % BUCKETS
            bucket = pending[index]
            bucket.append(f"\n{text}\t{row_number}")
            if len(bucket) >= KEYS_PER_ROW:
                full.add(index)
        if full:
            self.db.executemany(
                "INSERT INTO seen VALUES (?, ?, ?, ?)",
                [
                    (space.number, bucket, self._next_seq(), self._take(space, bucket))
                    for bucket in full
                ],
            )

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    @staticmethod
    def _take(space: Namespace, bucket: int) -> str:
        keys = "".join(space.pending[bucket]) + "\n"
        space.pending[bucket] = []
        return keys

    def _lookup(
        self, space: Namespace, texts: Iterable[str], hashes: dict[str, int]
    ) -> dict[str, int]:
        by_bucket: dict[int, list[str]] = {}
        for text in texts:
            by_bucket.setdefault(hashes[text] % BUCKETS, []).append(text)
        found: dict[str, int] = {}
        for bucket, wanted in by_bucket.items():
            # A key is stored once (when first seen), so the order of the rows does not matter.
            (stored,) = self.db.execute(
                "SELECT group_concat(keys, '') FROM seen WHERE ns = ? AND bucket = ?",
                (space.number, bucket),
            ).fetchone()
            stored = (stored or "") + "".join(space.pending[bucket]) + "\n"
            for text in wanted:
                start = stored.find(f"\n{text}\t")
                if start >= 0:
                    start += len(text) + 2
                    found[text] = int(stored[start : stored.index("\n", start)])
        return found

    def close(self) -> None:
        """Delete the database."""
        self.db.close()
