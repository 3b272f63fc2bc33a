"""
Measure encoding detection on the text files of ``tests/files``: right, wrong or refused.

Run ``python -m tests.imports.readers.corpus`` (``-v`` lists every sample). A sample is a text
file ``MANIFEST.json`` names an encoding for, read as the CSV reader reads it (its first 64 KiB,
detected among the default ``DATA_EXCHANGE_CSV_ENCODINGS``), and the head of each long file cut
after its first ``HEAD_BYTES`` (less evidence: ten to twenty lines). With ``--seeds N`` the
samples are instead files of 4 and 30 rows made as ``make_files.py`` makes its legacy ones, with
N other seeds each; ``--capitals`` writes their words in capitals (as many ERP exports do). A
reading is right when it gives the text the file holds (cp1250 and cp1252 read German alike:
either is right), wrong when it gives other text, refused when detection raises
``FileFormatError``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from data_exchange_tool.imports.readers.csv import SNIFF_BYTES

HERE = Path(__file__).resolve().parents[2] / "files"
#: Bytes of the head of a long file measured on its own.
HEAD_BYTES = 1024


@dataclass
class Sample:
    name: str
    data: bytes
    complete: bool
    encoding: str


@dataclass
class Outcome:
    sample: Sample
    verdict: str  # "right", "wrong" or "refused"
    found: str  # the encoding found, or the refusal


def samples() -> list[Sample]:
    """Return the measured samples: every text file, and the head of every long one."""
    manifest = json.loads((HERE / "MANIFEST.json").read_text(encoding="utf-8"))
    found = []
    for name, entry in sorted(manifest.items()):
        if "encoding" not in entry:
            continue
        data = (HERE / name).read_bytes()
        encoding = str(entry["encoding"])
        head = data[:SNIFF_BYTES]
        found.append(Sample(name, head, len(head) == len(data), encoding))
        if "_long" in name and len(data) > HEAD_BYTES:
            found.append(Sample(f"{name}[:{HEAD_BYTES}]", data[:HEAD_BYTES], False, encoding))
    return found


def seeded_samples(count: int, capitals: bool = False) -> list[Sample]:
    """Return files made as the corpus is, with ``count`` other seeds, of 4 and 30 rows (their
    words in capitals when ``capitals``)."""
    sys.path.insert(0, str(HERE))
    import make_files

    found = []
    for stem, language, codec, _ in [*make_files.LEGACY, *make_files.MORE_LEGACY]:
        if codec.startswith("utf"):
            continue
        if capitals:
            language = in_capitals(language)
        for seed in range(100, 100 + count):
            for rows in (4, 30):
                headers, cells = make_files.plain_for(
                    codec, language.headers, language.rows(rows, seed)
                )
                text = make_files.csv_text([headers, *cells], language.delimiter)
                name = f"{stem}_{rows}_rows_seed_{seed}"
                found.append(Sample(name, text.encode(codec, "replace"), True, codec))
    return found


def in_capitals(language: Any) -> Any:
    """Return a ``make_files.Language`` whose words are in capitals."""
    upper = {
        name: [word.upper() for word in getattr(language, name)]
        for name in ("headers", "first", "last", "cities", "products", "extra")
    }
    return replace(language, **upper)


def text_of(data: bytes, encoding: str, complete: bool) -> str:
    """Return the text of ``data`` up to its last line end (the whole of it when complete)."""
    if not complete and b"\n" in data:
        data = data[: data.rindex(b"\n") + 1]
    return data.decode(encoding)


def measure(sample: Sample, legacy: tuple[str, ...] | None = None) -> Outcome:
    """Return what detection makes of ``sample``."""
    from data_exchange_tool.exceptions import FileFormatError
    from data_exchange_tool.imports.readers.encodings import LEGACY_ENCODINGS, detect

    try:
        found = detect(sample.data, sample.complete, legacy or LEGACY_ENCODINGS).encoding
    except FileFormatError as exc:
        return Outcome(sample, "refused", str(exc))
    truth = text_of(sample.data, sample.encoding, sample.complete).lstrip("\ufeff")
    try:
        read = text_of(sample.data, found, sample.complete).lstrip("\ufeff")
    except UnicodeDecodeError:
        read = None
    return Outcome(sample, "right" if read == truth else "wrong", found)


def main(argv: list[str]) -> None:
    seeds = int(argv[argv.index("--seeds") + 1]) if "--seeds" in argv else 0
    chosen = seeded_samples(seeds, "--capitals" in argv) if seeds else samples()
    outcomes = [measure(sample) for sample in chosen]
    for outcome in outcomes:
        if "-v" in argv or outcome.verdict != "right":
            print(f"{outcome.verdict:8} {outcome.sample.name:42} {outcome.found[:160]}")
    counts = Counter(outcome.verdict for outcome in outcomes)
    files = sum(1 for outcome in outcomes if "[:" not in outcome.sample.name)
    print(
        f"{len(outcomes)} samples ({files} files, {len(outcomes) - files} heads of "
        f"{HEAD_BYTES} bytes): {counts['right']} right, {counts['wrong']} wrong, "
        f"{counts['refused']} refused"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
