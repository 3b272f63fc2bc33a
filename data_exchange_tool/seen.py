"""
Keys already seen in a file, kept on disk.

Duplicate detection must not hold a million keys in Python memory, so ``SeenKeys`` keeps them in
a private temporary SQLite database (``sqlite3.connect("")`` lives on disk and is deleted when
closed), as 16-byte hashes with the row that first held them. One query per batch checks and
records the whole batch.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Hashable, Sequence

#: SQLite's default limit of bound parameters is 999 on old builds; stay under it.
CHUNK = 900


def key_digest(key: Hashable) -> bytes:
    """Return a 16-byte digest of a key tuple."""
    return hashlib.blake2b(repr(key).encode("utf-8", "surrogatepass"), digest_size=16).digest()


class SeenKeys:
    """A set of ``(namespace, key) -> first row`` on disk."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("")
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("PRAGMA cache_size = -8000")  # at most about 8 MB of pages in memory
        self.db.execute(
            "CREATE TABLE seen (ns TEXT, digest BLOB, row INTEGER, PRIMARY KEY (ns, digest))"
            " WITHOUT ROWID"
        )

    def check_and_add(
        self, namespace: str, items: Sequence[tuple[Hashable, int]]
    ) -> list[int | None]:
        """Record ``(key, row_number)`` items; return, for each, the earlier row that held it."""
        digests = [key_digest(key) for key, _ in items]
        earlier = self._lookup(namespace, digests)
        result: list[int | None] = []
        new_rows: list[tuple[str, bytes, int]] = []
        for digest, (_, row_number) in zip(digests, items, strict=True):
            first = earlier.get(digest)
            result.append(first)
            if first is None:
                earlier[digest] = row_number
                new_rows.append((namespace, digest, row_number))
        self.db.executemany("INSERT INTO seen VALUES (?, ?, ?)", new_rows)
        return result

    def _lookup(self, namespace: str, digests: list[bytes]) -> dict[bytes, int]:
        found: dict[bytes, int] = {}
        unique = list(dict.fromkeys(digests))
        for start in range(0, len(unique), CHUNK):
            chunk = unique[start : start + CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT digest, row FROM seen WHERE ns = ? AND digest IN ({marks})",  # noqa: S608 - only placeholders
                [namespace, *chunk],
            )
            found.update(rows)
        return found

    def close(self) -> None:
        """Delete the database."""
        self.db.close()
