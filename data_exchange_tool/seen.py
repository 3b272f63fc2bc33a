"""
Keys already seen in a file, kept on disk.

Duplicate detection must not hold a million keys in Python memory, and must not cost more than
the validation it guards. ``SeenKeys`` keeps every key with the row that first held it in a
private temporary SQLite database (``sqlite3.connect("")`` lives on disk and is deleted when
closed), and a Bloom filter in memory (about 1.2 bytes a key) says which keys of a batch may have
been seen before. Only those few are looked up on disk; most keys are new and cost no query.

Keys are spread over ``BUCKETS`` buckets by hash, and each batch adds one row per bucket holding
its keys as text, so a batch costs a few hundred inserts whatever its size, and a look-up reads one
bucket. Keys are compared by ``repr``, so a match is exact, not a hash collision.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Hashable, Iterable, Sequence

#: Buckets the keys are spread over on disk (a look-up reads one bucket).
BUCKETS = 256
#: Bits of the first Bloom filter (2 MB: 1,000,000 keys give 0.2% false positives, 1,600,000
#: about 1%); each later filter has twice the bits of the one before.
FIRST_FILTER_BITS = 1 << 24
#: Keys a filter takes before the next one starts (about 10 bits a key).
BITS_PER_KEY = 10
#: Bits set for each key.
HASHES = 4
MASK64 = (1 << 64) - 1


def key_text(key: Hashable) -> str:
    """Return the text a key is compared by: its ``repr``, on one line and without tabs."""
    text = repr(key)
    if "\n" in text or "\t" in text:
        text = repr(text)
    return text


class BloomFilter:
    """A set of hashes that may answer "maybe" for a hash never added (never "no" for one added).

    Each hash sets ``HASHES`` bits, found by double hashing from its two 32-bit halves. The
    methods take a whole batch, so the loops run inside one call.
    """

    def __init__(self, bits: int) -> None:
        self.mask = bits - 1
        self.bits = bytearray(bits >> 3)
        self.capacity = bits // BITS_PER_KEY
        self.count = 0

    def maybe_seen(self, hashes: dict[str, int]) -> set[str]:
        """Return the texts of ``{text: hash}`` whose hash may have been added."""
        bits, mask, found = self.bits, self.mask, set()
        for text, hashed in hashes.items():
            position, step = hashed & 0xFFFFFFFF, (hashed >> 32) | 1
            for _ in range(HASHES):
                bit = position & mask
                if not bits[bit >> 3] & (1 << (bit & 7)):
                    break
                position += step
            else:
                found.add(text)
        return found

    def add_all(self, hashes: Sequence[int]) -> None:
        """Add hashes."""
        bits, mask = self.bits, self.mask
        for hashed in hashes:
            position, step = hashed & 0xFFFFFFFF, (hashed >> 32) | 1
            for _ in range(HASHES):
                bit = position & mask
                bits[bit >> 3] |= 1 << (bit & 7)
                position += step
        self.count += len(hashes)


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
        self.namespaces: dict[str, int] = {}
        self.filters: dict[str, list[BloomFilter]] = {}
        self.seq = 0

    def check_and_add(
        self, namespace: str, items: Sequence[tuple[Hashable, int]]
    ) -> list[int | None]:
        """Record ``(key, row_number)`` items; return, for each, the earlier row that held it."""
        texts = [key_text(key) for key, _ in items]
        hashes = {text: hash(text) & MASK64 for text in texts}
        filters = self.filters.setdefault(namespace, [BloomFilter(FIRST_FILTER_BITS)])
        maybe = set().union(*(f.maybe_seen(hashes) for f in filters))
        earlier = self._lookup(namespace, maybe, hashes) if maybe else {}
        result: list[int | None] = []
        new: list[tuple[str, int]] = []
        for text, (_, row_number) in zip(texts, items, strict=True):
            first = earlier.get(text)
            result.append(first)
            if first is None:
                earlier[text] = row_number
                new.append((text, row_number))
        self._add(namespace, new, hashes, filters)
        return result

    def _add(
        self,
        namespace: str,
        new: list[tuple[str, int]],
        hashes: dict[str, int],
        filters: list[BloomFilter],
    ) -> None:
        if filters[-1].count + len(new) > filters[-1].capacity:
            filters.append(BloomFilter(len(filters[-1].bits) << 4))
        filters[-1].add_all([hashes[text] for text, _ in new])
        by_bucket: dict[int, list[str]] = {}
        for text, row_number in new:
            by_bucket.setdefault(hashes[text] % BUCKETS, []).append(f"\n{text}\t{row_number}")
        self.seq += 1
        ns = self.namespaces.setdefault(namespace, len(self.namespaces))
        self.db.executemany(
            "INSERT INTO seen VALUES (?, ?, ?, ?)",
            [
                (ns, bucket, self.seq, "".join(records) + "\n")
                for bucket, records in by_bucket.items()
            ],
        )

    def _lookup(
        self, namespace: str, texts: Iterable[str], hashes: dict[str, int]
    ) -> dict[str, int]:
        ns = self.namespaces.get(namespace)
        by_bucket: dict[int, list[str]] = {}
        for text in texts:
            by_bucket.setdefault(hashes[text] % BUCKETS, []).append(text)
        found: dict[str, int] = {}
        for bucket, wanted in by_bucket.items():
            # A key is stored once (when first seen), so the order of the rows does not matter.
            (stored,) = self.db.execute(
                "SELECT group_concat(keys, '') FROM seen WHERE ns = ? AND bucket = ?", (ns, bucket)
            ).fetchone()
            stored = stored or ""
            for text in wanted:
                start = stored.find(f"\n{text}\t")
                if start >= 0:
                    start += len(text) + 2
                    found[text] = int(stored[start : stored.index("\n", start)])
        return found

    def close(self) -> None:
        """Delete the database."""
        self.db.close()
