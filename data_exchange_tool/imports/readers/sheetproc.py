"""
The child process that reads an XLSX workbook's first sheet for ``xlsx.ChildSheet``.

``python -m data_exchange_tool.imports.readers.sheetproc PATH`` reads the workbook at ``PATH``
(the parent's spooled, already checked copy) and writes to stdout messages (a length, then the
``marshal`` bytes) of ``(kind, (bytes read, sheet size, last row), payload)``: ``"rows"`` with a
batch of ``(row_number, cells)``, then ``"end"``; or ``"error"`` with the message of a
``FileFormatError``.
It needs no Django settings. A parent that goes away closes the pipe, and the child stops.
"""

from __future__ import annotations

import marshal
import os
import sys
import zipfile
from typing import IO, Any

from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers.xlsx import LocalSheet, corrupt

#: A batch is sent once it holds this many rows, or this many characters of cells.
BATCH_ROWS = 1000
BATCH_CHARS = 1024 * 1024


def send(out: IO[bytes], kind: str, facts: tuple[int, int, int], payload: Any) -> None:
    """Write one message to the parent: its length (8 bytes), then its ``marshal`` bytes."""
    data = marshal.dumps((kind, facts, payload))
    out.write(len(data).to_bytes(8, "little") + data)


def read(path: str, out: IO[bytes]) -> None:
    """Send every row of the first sheet of the workbook at ``path``, then ``"end"``."""
    with zipfile.ZipFile(path) as archive:
        source = LocalSheet(archive)
        sheet = source.sheet
        try:
            batch: list[tuple[int, list[str]]] = []
            chars = 0
            for row in source.rows():
                batch.append(row)
                chars += sum(map(len, row[1]))
                if len(batch) >= BATCH_ROWS or chars >= BATCH_CHARS:
                    send(out, "rows", (sheet.bytes_read, sheet.size, sheet.last_row), batch)
                    batch, chars = [], 0
            facts = (sheet.bytes_read, sheet.size, sheet.last_row)
            send(out, "rows", facts, batch)
            send(out, "end", facts, None)
        finally:
            source.close()


def main(argv: list[str]) -> int:
    """Read the workbook named by ``argv[1]``; return the exit status."""
    out = sys.stdout.buffer
    try:
        read(argv[1], out)
    except FileFormatError as exc:
        send(out, "error", (0, 0, 0), str(exc))
    except BrokenPipeError:  # the parent has stopped reading: nothing more to do
        os._exit(0)
    except Exception:  # anything else is a workbook we cannot read; the parent says so
        send(out, "error", (0, 0, 0), str(corrupt()))
        raise
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
