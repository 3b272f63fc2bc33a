"""
Which text encoding a file is in, decided from its first bytes, or refused in words.

1. A BOM decides: UTF-32 LE/BE (checked first: ``FF FE 00 00`` begins like UTF-16 LE's ``FF FE``),
   UTF-8, UTF-16 LE/BE (Excel's "Unicode Text"). The codecs ``utf-32``, ``utf-8-sig`` and
   ``utf-16`` take the BOM off.
2. Strict UTF-8 over the sample (a multibyte character cut at the sample's end is fine).
3. charset-normalizer over the sample cut at its last line end (never inside a multibyte
   character), restricted to the code pages programs write (``LEGACY_ENCODINGS``, or the
   project's ``DATA_EXCHANGE_CSV_ENCODINGS``). Its credible readings (mess ratio at most
   ``MAX_CHAOS``) are then judged by their text, which charset-normalizer does not do
   (``plausible``):

   - a reading no person wrote is dropped: combining marks that follow no letter (Arabic read
     as Hebrew points), Thai without consonants or full of signs out of use (Hebrew or Korean
     read as Thai);
   - a reading a person seldom writes gives way to one that is not odd: capitals inside words
     (KOI8-R Russian read as windows-1251: ``иВАН``; Vietnamese read as windows-1250), letters
     of a cased script other than Latin almost all capitals in a code page Excel does not
     write (Hebrew read as KOI8-R; in a Windows code page they are a sheet in capitals),
     letters of two scripts inside one word (Western text read as windows-1256), symbols or
     punctuation inside words (Mac Roman read as windows-1252: ``Adri‡n``), the currency sign
     ``¤`` no one types;
   - of Latin readings, those whose letters are one language's alphabet (``ALPHABETS``, but
     for ``FIT_TOLERANCE`` of foreign names) win: Hungarian ő ű read as õ û in windows-1252,
     Baltic ū ė as û ë, Czech ISO-8859-2 š ž as ą ľ in windows-1250 fit no language. When no
     reading fits one language (a sheet of German, French and Danish names), those whose words
     each fit one win (``Núñez``, not ``Núńez``), then those nearest to fitting one;
   - Excel's Windows code pages (``WINDOWS``) win over KOI8, ISO-8859, DOS and Mac ones.

   Of what is left the least messy wins, then the most coherent, then the code page listed
   first (German text reads alike in cp1250 and cp1252; charset-normalizer's own order is
   alphabetical). When a reading that gives other text is left as credible (``CHAOS_TIE``,
   ``RIVAL_COHERENCE``), the sample is refused naming both readings
   (``AmbiguousEncodingError``): four rows of Greek that read as well as Russian do not show
   which they are. So is a sample whose KOI8-R reading, set aside as capitals, is more coherent
   than the reading kept (Russian in capitals in KOI8-R, or Hebrew, read as windows-1251).
4. Otherwise the file is refused with a message naming what was tried and how to fix it.

Measured (``python -m tests.imports.readers.corpus``) on 141 samples: 101 text files
(``tests/files``: 3 to 300 rows of customers, stock codes, cities and products in 28 languages,
in 18 legacy code pages, every ANSI code page Excel writes on Windows and Mac Excel's Mac Roman,
and in UTF) and the first KiB of each long one: 139 right, none wrong, 2 refused (4 Greek rows
that read as well as Russian, 4 Hebrew rows that KOI8-R reads more coherently as capitals);
charset-normalizer alone, as before, read 115 right and 26 wrong (Hungarian, Baltic,
Vietnamese, Czech ISO-8859-2, Chinese as Cyrillic, Mac Roman Spanish, ISO Greek, short Turkish
and Hebrew). On 3,700 files made alike with other seeds (``--seeds 50``: 4 and 30 rows of each
of the 37 legacy samples): 3,679 right, none wrong, 21 refused (4 rows of German, French,
Spanish and Danish names that read as well in windows-1250 or -1257, Danish æ ø read as
Lithuanian ę ų, Japanese that reads as well as Chinese, Hebrew as KOI8-R), where
charset-normalizer alone read 2,724 right and 976 wrong. In capitals, as ERP exports often are
(``--seeds 15 --capitals``, 1,110 files): 1,043 right, none wrong, 67 refused (the KOI8-R and
ISO-8859-7 ones: capitals in a code page Excel does not write are set aside, and refuse the file
when they are more coherent), where charset-normalizer alone read 843 right and 267 wrong. The
first measure, on 81 samples of 11 code pages, had found 74 right and 7 wrong; the fallback
chain before it (UTF-8, cp1252, latin-1) read 11 of those right and garbled the rest.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

from data_exchange_tool.conf import DEFAULTS
from data_exchange_tool.exceptions import FileFormatError

#: The code pages Excel and other programs write, from the most to the least common in uploads
#: (the tie-break): the default of ``DATA_EXCHANGE_CSV_ENCODINGS``. Not in the list: EBCDIC, UTF-7
#: and the like, and ISO-8859-15, which won over cp1250 on Czech ISO-8859-2 samples. cp1258
#: (Vietnamese), left out at first for the same reason, is listed since its readings of other
#: text are judged odd (capitals inside words) or impossible (marks without a letter).
LEGACY_ENCODINGS: tuple[str, ...] = tuple(DEFAULTS["CSV_ENCODINGS"])
#: Largest mess ratio of a credible match.
MAX_CHAOS = 0.2
#: Matches this close to the best (mess ratio, then language coherence) are ties.
CHAOS_TIE = 0.025
COHERENCE_TIE = 0.01
#: charset-normalizer's own threshold: with its default (0.2) it returned no match at all for
#: Shift-JIS samples whose mean mess was 0.09; ``MAX_CHAOS`` is applied afterwards.
DETECTOR_THRESHOLD = 0.5

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass
class Detection:
    """An encoding and how it was found: ``"bom"``, ``"utf-8"`` or ``"detected"``."""

    encoding: str
    how: str


def bom_encoding(head: bytes) -> str | None:
    """Return the codec named by a BOM at the start of ``head``, or None."""
    for bom, name in BOMS:
        if head.startswith(bom):
            return name
    return None


def is_utf8(head: bytes, complete: bool) -> bool:
    """Return True when ``head`` is UTF-8 (its end may cut a character unless ``complete``)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def detect(head: bytes, complete: bool, legacy: tuple[str, ...] = LEGACY_ENCODINGS) -> Detection:
    """Return the encoding of a file that starts with ``head``, or raise ``FileFormatError``.

    :param complete: ``head`` is the whole file.
    :param legacy: the code pages it may be in when it is not UTF, most likely first.
    """
    name = bom_encoding(head)
    if name:
        return Detection(name, "bom")
    if is_utf8(head, complete):
        return Detection("utf-8", "utf-8")
    return Detection(statistical(head, complete, legacy), "detected")


def statistical(
    head: bytes, complete: bool = True, legacy: tuple[str, ...] = LEGACY_ENCODINGS
) -> str:
    """Return the most credible of the ``legacy`` code pages for ``head``, or raise."""
    from charset_normalizer import from_bytes

    sample = head
    if not complete and b"\n" in head:  # never cut a multibyte character (Shift-JIS, GB18030)
        sample = head[: head.rindex(b"\n") + 1]
    rank = {codecs.lookup(name).name: index for index, name in enumerate(legacy)}
    found = from_bytes(sample, cp_isolation=list(legacy), threshold=DETECTOR_THRESHOLD)
    found_readings = [
        Reading(codecs.lookup(match.encoding).name, match.chaos, match.coherence, str(match))
        for match in found
        if match.chaos <= MAX_CHAOS + RIVAL_CHAOS
    ]
    candidates = plausible(found_readings)
    readings = [reading for reading in candidates if reading.chaos <= MAX_CHAOS]
    if not readings:
        raise FileFormatError(refusal(head))
    least = min(reading.chaos for reading in readings)
    near = [reading for reading in readings if reading.chaos <= least + CHAOS_TIE]
    most = max(reading.coherence for reading in near)
    best = min(
        (reading for reading in near if reading.coherence >= most - COHERENCE_TIE),
        key=lambda reading: (rank.get(reading.encoding, len(rank)), reading.chaos),
    )
    rivals = rivals_of(best, candidates, rank) + capital_rivals(best, found_readings)
    if rivals:
        raise AmbiguousEncodingError(ambiguous([best, *rivals]))
    return superset_of(sample, most_common_equivalent(sample, best.encoding, legacy))


class AmbiguousEncodingError(FileFormatError):
    """The sample reads as credibly, as different text, in two code pages or more."""


def rivals_of(best: Reading, readings: list[Reading], rank: dict[str, int]) -> list[Reading]:
    """Return the readings that give other text and are as credible as ``best``, one per text.

    They passed the same checks of their text (``plausible``): nothing tells them apart.
    """
    rivals: dict[str, Reading] = {best.text: best}
    for reading in sorted(readings, key=lambda reading: rank.get(reading.encoding, len(rank))):
        if (
            reading.text not in rivals
            and reading.chaos <= best.chaos + RIVAL_CHAOS
            and reading.coherence >= best.coherence - RIVAL_COHERENCE
        ):
            rivals[reading.text] = reading
    return list(rivals.values())[1:]


def capital_rivals(best: Reading, readings: list[Reading]) -> list[Reading]:
    """Return a reading set aside for being all capitals in a code page Excel does not write
    that is clearly more coherent than ``best``: a KOI8-R file in capitals read as windows-1251
    is lowercase gibberish, Hebrew read as KOI8-R is capitals; only coherence can tell them
    apart, and when it says KOI8-R the file is refused rather than guessed."""
    if best.capitals:  # a sheet in capitals: capitals are no evidence against a reading
        return []
    for reading in readings:
        if (
            reading.odd == "almost all capitals"
            and not reading.impossible
            and reading.text != best.text
            and reading.chaos <= best.chaos + RIVAL_CHAOS
            and reading.coherence > best.coherence
        ):
            return [reading]
    return []


#: Code pages Windows writes that extend a standard one: a sample the standard one reads is
#: read by them too, and where they differ (bytes 81 60 are a full-width tilde in cp932, a wave
#: dash in Shift-JIS) Windows wrote theirs.
SUPERSETS = {"shift_jis": "cp932", "euc_kr": "cp949", "iso8859-1": "cp1252"}


def superset_of(sample: bytes, name: str) -> str:
    """Return the Windows superset of code page ``name`` when it reads ``sample``, else ``name``."""
    wider = SUPERSETS.get(name)
    if wider is None:
        return name
    try:
        sample.decode(wider)
    except UnicodeDecodeError:
        return name
    return wider


def most_common_equivalent(sample: bytes, best: str, legacy: tuple[str, ...]) -> str:
    """Return the first of ``legacy`` that reads ``sample`` as ``best`` does (else ``best``).

    Code pages that decode the sample to the same text cannot be told apart by it, and the
    choice does not matter for it; the most common one is the best bet for the rest of the file
    (``Café 5 €`` reads alike in cp1250 and cp1252, but ``ñ`` further down would not).
    """
    text = sample.decode(best, "replace")
    for name in legacy:
        name = codecs.lookup(name).name
        if name == best:
            break
        try:
            if sample.decode(name) == text:
                return name
        except UnicodeDecodeError:
            continue
    return best


def ambiguous(readings: list[Reading]) -> str:
    """Return the message of a file that reads as credibly, as different text, in ``readings``."""
    names = [reading.encoding for reading in readings]
    described = " or as ".join(describe_encoding(name) for name in names)
    return (
        f"The file's text encoding cannot be told for sure: it reads as {described}, and its "
        "text does not show which is right. Choose its encoding on upload (the 'Text "
        f"encoding' field, or 'encoding' in the API: {' or '.join(names)}), or save it as UTF-8 "
        "(in Excel: 'CSV UTF-8 (comma delimited)')."
    )


def describe_encoding(name: str) -> str:
    """Return a code page as people know it: ``Hebrew (windows-1255)``."""
    return DESCRIPTIONS.get(name, name)


def refusal(head: bytes) -> str:
    """Return the message of a file whose encoding no codec reads credibly."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f" (byte 0x{head[exc.start]:02X} at position {exc.start:,})"
    else:
        where = ""
    return (
        f"The file's text encoding was not recognised: it is not UTF-8{where}, and no other "
        "encoding reads it credibly (tried: UTF-8, UTF-16 and UTF-32 by their byte order mark, "
        "and the code pages Excel writes on Windows and Mac, with ISO, KOI8 and DOS ones). Save "
        "it as UTF-8 (in Excel: 'CSV UTF-8 (comma delimited)'), or choose its encoding on upload "
        "(the 'Text encoding' field, or 'encoding' in the API)."
    )


def redetect(window: bytes, tried: str, legacy: tuple[str, ...] = LEGACY_ENCODINGS) -> str | None:
    """Return the encoding of text that turned out not to be ``tried`` part-way, or None.

    ``window`` holds the bytes around the first one ``tried`` could not decode; a legacy code
    page is detected there (an ASCII head carries no evidence). Raises
    ``AmbiguousEncodingError`` when they read as credibly, as different text, in several.
    """
    if window.startswith(codecs.BOM_UTF8):
        window = window[3:]
    try:
        found = statistical(window, False, legacy)
    except AmbiguousEncodingError:
        raise
    except FileFormatError:
        return None
    return found if codecs.lookup(found).name != codecs.lookup(tried).name else None


def check_encoding(name: str) -> str:
    """Return the codec's canonical name, or raise ``LookupError`` for a name that is not one.

    Codecs that are not text encodings (``base64``, ``rot13``) are refused too.
    """
    info = codecs.lookup(name)
    b"".decode(info.name)  # raises LookupError for bytes-to-bytes codecs
    "".encode(info.name)  # and for str-to-str ones
    return info.name


# --- what a reading's text says about it -------------------------------------------------------

#: Code pages Excel writes on Windows (the ANSI code page of the locale), taken before the others
#: (KOI8, ISO-8859, DOS, Mac, EUC) when both read a sample credibly and plausibly: the others
#: read Hebrew as Cyrillic capitals, Chinese as Cyrillic.
WINDOWS = frozenset(
    {"cp874", "cp932", "gbk", "gb18030", "cp949", "big5", "cp950"}
    | {f"cp{number}" for number in range(1250, 1259)}
)

#: The letters beyond ASCII of the languages written in Latin script, lowercase: a reading whose
#: letters fit one of them beats readings whose letters fit none (Hungarian ő ű in cp1250 read
#: as õ û in cp1252, Lithuanian ū ė in cp1257 as û ë).
ALPHABETS = {
    "de": "äöüß",
    "fr": "àâæçéèêëîïôœùûüÿ",
    "es": "áéíñóúü",
    "pt": "áâãàçéêíóôõú",
    "it": "àèéìíîòóùú",
    "ca": "àçéèíïòóúü",
    "nl": "éëïóöüèáê",
    "sv": "åäöé",
    "da-no": "æøåéêóòô",
    "fi": "äöåšž",
    "is": "áðéíóúýþæö",
    "pl": "ąćęłńóśźż",
    "cs": "áčďéěíňóřšťúůýž",
    "sk": "áäčďéíĺľňóôŕšťúýž",
    "hu": "áéíóöőúüű",
    "ro": "ăâîşţșț",
    "hr-sl": "čćđšž",
    "tr": "çğıöşüâîû",
    "lt": "ąčęėįšųūž",
    "lv": "āčēģīķļņšūž",
    "et": "äõöüšž",
    "sq": "çë",
    "vi": "àáâãèéêìíòóôõùúýăđĩũơư\u0300\u0301\u0303\u0309\u0323",
}
#: Letters any language's sheet may hold (ordinal indicators: "Nº 5").
ANYWHERE = "ªºµ"
ALPHABET_SETS = {name: frozenset(letters + ANYWHERE) for name, letters in ALPHABETS.items()}
#: Share of a reading's non-ASCII Latin letters that may lie outside the language they fit best
#: (foreign names), and still count as fitting it.
FIT_TOLERANCE = 0.05
#: Readings that fit this much worse than the best are set aside.
FIT_MARGIN = 0.02
#: Of readings whose words each fit a language, those this much worse than the best at
#: fitting one language as a whole are set aside (Western names read as cp1250: Genčve, Sřren).
MIX_MARGIN = 0.1
#: A reading that gives other text this close to the best one in mess ratio (even past
#: ``MAX_CHAOS``: Japanese at 0.23 against a GB18030 reading at 0.20) and in coherence makes
#: the file ambiguous.
RIVAL_CHAOS = 0.05
RIVAL_COHERENCE = 0.1

DESCRIPTIONS = {
    "cp1250": "Central European (windows-1250)",
    "cp1251": "Cyrillic (windows-1251)",
    "cp1252": "Western European (windows-1252)",
    "cp1253": "Greek (windows-1253)",
    "cp1254": "Turkish (windows-1254)",
    "cp1255": "Hebrew (windows-1255)",
    "cp1256": "Arabic (windows-1256)",
    "cp1257": "Baltic (windows-1257)",
    "cp1258": "Vietnamese (windows-1258)",
    "cp874": "Thai (windows-874)",
    "cp932": "Japanese (Shift-JIS, cp932)",
    "shift_jis": "Japanese (Shift-JIS)",
    "euc_jp": "Japanese (EUC-JP)",
    "gb18030": "Simplified Chinese (GBK, GB18030)",
    "gbk": "Simplified Chinese (GBK)",
    "big5": "Traditional Chinese (Big5)",
    "cp950": "Traditional Chinese (Big5, cp950)",
    "cp949": "Korean (cp949)",
    "euc_kr": "Korean (EUC-KR)",
    "koi8-r": "Russian (KOI8-R)",
    "koi8-u": "Ukrainian (KOI8-U)",
    "iso8859-1": "Western European (ISO-8859-1)",
    "iso8859-2": "Central European (ISO-8859-2)",
    "iso8859-5": "Cyrillic (ISO-8859-5)",
    "iso8859-7": "Greek (ISO-8859-7)",
    "iso8859-9": "Turkish (ISO-8859-9)",
    "mac-roman": "Mac Roman",
    "cp866": "Cyrillic DOS (cp866)",
}


@dataclass
class Reading:
    """A code page's reading of a sample, as charset-normalizer judged it, and its text."""

    encoding: str
    chaos: float
    coherence: float
    text: str

    @cached_property
    def pairs(self) -> Counter[str]:
        """Each non-ASCII character of the text with the one before it, counted (what the
        checks look at, counted at C speed: 64 KiB of Hebrew hold 40,000 such characters)."""
        return Counter(PAIRS.findall(self.text))

    @cached_property
    def letters(self) -> Counter[str]:
        """The non-ASCII letters and combining marks of the text (the evidence), counted."""
        letters: Counter[str] = Counter()
        for pair, count in self.pairs.items():
            if is_letter(pair[1]):
                letters[pair[1]] += count
        return letters

    @cached_property
    def script(self) -> str:
        """The script most of its non-ASCII letters are in: LATIN, CYRILLIC, HEBREW, CJK..."""
        scripts: Counter[str] = Counter()
        for char, count in self.letters.items():
            scripts[script_of(char) or "LATIN"] += count
        return scripts.most_common(1)[0][0] if scripts else "LATIN"

    @cached_property
    def impossible(self) -> str:
        """What no text a person wrote has ("" for nothing): marks without a letter, Thai
        without consonants."""
        return orphan_marks(self.pairs) or thai_without_consonants(self.text, self.letters)

    @cached_property
    def odd(self) -> str:
        """What text a person wrote seldom has: capitals, other scripts' letters, symbols inside
        words; letters almost all capitals in a code page Excel does not write (Hebrew read as
        KOI8-R). All capitals are no defect in a Windows code page: sheets are often in capitals.
        "" for nothing."""
        if self.capitals and not self.windows and self.script != "LATIN":
            return "almost all capitals"
        return (
            capitals(self.pairs, self.letters)
            or mixed_scripts(self.pairs, self.letters)
            or symbols_in_words(self.text, self.letters)
        )

    @cached_property
    def capitals(self) -> bool:
        """Its cased letters are almost all capitals."""
        return all_capitals(self.letters)

    @property
    def windows(self) -> bool:
        """It is in a code page Excel writes on Windows (or one such a code page extends)."""
        return SUPERSETS.get(self.encoding, self.encoding) in WINDOWS

    @cached_property
    def misfit(self) -> float:
        """The share of its Latin letters outside the language they fit best (0 without any)."""
        lower: Counter[str] = Counter()
        for char, count in self.letters.items():
            if script_of(char) == "LATIN":
                lower[char.lower()[:1]] += count  # "İ".lower() is "i" and a combining dot
        total = sum(lower.values())
        if not total:
            return 0.0
        outside = min(
            sum(
                count
                for char, count in lower.items()
                if char > "\x7f" and char not in alphabet + ANYWHERE
            )
            for alphabet in ALPHABETS.values()
        )
        return outside / total

    @cached_property
    def word_misfit(self) -> float:
        """The share of its words with Latin letters beyond ASCII whose letters are no one
        language's (``ALPHABETS``): ``Núńez`` (Polish ń, Czech ú), ``Árvíztûrõ`` (French û,
        Portuguese õ). A word at a time, since a sheet mixes names of several languages."""
        words = total = 0
        for word, count in Counter(WORDS.findall(self.text)).items():
            letters = frozenset(char for char in word.lower() if char > "\x7f")
            if letters and all(script_of(char) == "LATIN" for char in letters):
                total += count
                words += 0 if fits_a_language(letters) else count
        return words / total if total else 0.0


#: A word with at least one letter beyond ASCII.
WORDS = re.compile(r"[^\W\d_]*[^\x00-\x7f][^\W\d_]*")


@lru_cache(maxsize=4096)
def fits_a_language(letters: frozenset[str]) -> bool:
    """Return True when ``letters`` (lowercase, beyond ASCII) are all in one alphabet."""
    return any(letters <= ALPHABET_SETS[name] for name in ALPHABET_SETS)


#: A non-ASCII character and the one before it (overlapping: every such character once).
PAIRS = re.compile(r"(?=([\s\S][^\x00-\x7f]))")


@lru_cache(maxsize=4096)
def is_mark(char: str) -> bool:
    """Return True for a combining mark."""
    return unicodedata.category(char) == "Mn"


@lru_cache(maxsize=4096)
def is_letter(char: str) -> bool:
    """Return True for a letter or a combining mark."""
    return char.isalpha() or is_mark(char)


@lru_cache(maxsize=4096)
def script_of(char: str) -> str:
    """Return the script of a letter, the first word of its Unicode name (CJK for Han and kana,
    LATIN for a combining mark of no script), or "" for one of no script (``º``, ``µ``)."""
    word = unicodedata.name(char, "").split(" ", 1)[0]
    if word.startswith(("CJK", "HIRAGANA", "KATAKANA", "HALFWIDTH", "FULLWIDTH", "IDEOGRAPHIC")):
        return "CJK"
    if word == "COMBINING":
        return "LATIN"
    return word if word in SCRIPTS else ""


SCRIPTS = frozenset(
    {"LATIN", "CYRILLIC", "GREEK", "HEBREW", "ARABIC", "THAI", "HANGUL", "ARMENIAN", "GEORGIAN"}
)


def orphan_marks(pairs: Counter[str]) -> str:
    """Return a defect when combining marks often follow no letter (Arabic read as Hebrew
    points, Hebrew as Thai tone marks)."""
    marks = orphans = 0
    for pair, count in pairs.items():
        if is_mark(pair[1]):
            marks += count
            orphans += 0 if is_letter(pair[0]) else count
    return "combining marks without a letter" if orphans >= 2 and orphans > marks / 10 else ""


def thai_without_consonants(text: str, letters: Counter[str]) -> str:
    """Return a defect when Thai text has (almost) no consonant, though every syllable has one
    (Hebrew read as Thai), or is full of signs modern Thai does not use (Korean read as Thai:
    a nikhahit ``ํ`` alone, ``๚`` ``๛`` ``๏``)."""
    thai = sum(count for char, count in letters.items() if "\u0e01" <= char <= "\u0e5b")
    if thai < 4:
        return ""
    consonants = sum(count for char, count in letters.items() if "\u0e01" <= char <= "\u0e2e")
    if consonants < thai / 4:
        return "Thai without consonants"
    rare = sum(text.count(char) for char in RARE_THAI)
    return "Thai full of signs out of use" if rare >= 2 and rare > thai / 50 else ""


#: Thai letters and signs out of use, or used alone only in old texts: ฃ ฅ ํ ๎ ๏ ๚ ๛.
RARE_THAI = "\u0e03\u0e05\u0e4d\u0e4e\u0e4f\u0e5a\u0e5b"


def all_capitals(letters: Counter[str]) -> bool:
    """Return True when (at least 8) cased letters are almost all capitals."""
    upper = sum(count for char, count in letters.items() if char.isupper())
    lower = sum(count for char, count in letters.items() if char.islower())
    return upper + lower >= 8 and upper > 0.8 * (upper + lower)


def capitals(pairs: Counter[str], letters: Counter[str]) -> str:
    """Return a defect when capitals often follow a small letter inside a word (KOI8-R Russian
    read as windows-1251 is ``иВАН``)."""
    upper = sum(count for char, count in letters.items() if char.isupper())
    lower = sum(count for char, count in letters.items() if char.islower())
    if upper + lower < 8:
        return ""
    inside = sum(count for pair, count in pairs.items() if pair[1].isupper() and pair[0].islower())
    return "capitals inside words" if inside >= 2 and inside > (upper + lower) / 20 else ""


def mixed_scripts(pairs: Counter[str], letters: Counter[str]) -> str:
    """Return a defect when letters of two scripts often touch inside a word (Western text read
    as Arabic: ``Mـller``; Latvian read as Cyrillic: ``Kвrlis``)."""
    mixed = sum(
        count
        for pair, count in pairs.items()
        if pair[0].isalpha()
        and is_letter(pair[1])
        and "" != script_of(pair[0]) != script_of(pair[1]) != ""
    )
    return (
        "letters of two scripts inside words"
        if mixed and mixed > sum(letters.values()) / 50
        else ""
    )


def symbols_in_words(text: str, letters: Counter[str]) -> str:
    """Return a defect when symbols or punctuation often sit between two letters (Romanian read
    as windows-1258 is ``Bucureºti``, ``Pre₫``; Mac Roman Spanish read as a Windows code page is
    ``Adri‡n G—mez``), or text holds the currency sign no one types (``¤``: the euro sign of
    ISO-8859-7 or -15 read as a Windows code page)."""
    inside = sum(
        count
        for triple, count in Counter(SANDWICHED.findall(text)).items()
        if is_sign(triple[1]) and script_of(triple[0]) in SPACED and script_of(triple[2]) in SPACED
    )
    if inside and inside > sum(letters.values()) / 50:
        return "symbols inside words"
    return "a currency sign no one types" if "\u00a4" in text else ""


@lru_cache(maxsize=4096)
def is_sign(char: str) -> bool:
    """Return True for a symbol or punctuation that is not found inside a word (apostrophes, the
    Catalan middle dot are)."""
    category = unicodedata.category(char)
    return char in "ªº" or category[0] == "S" or (category[0] == "P" and char not in INSIDE_WORDS)


#: Punctuation found inside words: apostrophes (U+2019, U+2018, U+02BC), the Catalan ``l·l``.
INSIDE_WORDS = "\u2019\u2018\u02bc\u00b7"


#: Scripts whose words are set apart by spaces (not Chinese, Japanese, Thai, whose
#: symbols may sit between two letters).
SPACED = frozenset({"LATIN", "CYRILLIC", "GREEK", "HEBREW", "ARABIC", "ARMENIAN", "GEORGIAN"})
#: A non-ASCII character between two letters.
SANDWICHED = re.compile(r"(?=([^\W\d_][^\x00-\x7f][^\W\d_]))")


def plausible(readings: list[Reading]) -> list[Reading]:
    """Return the readings whose text a person may have written, the likeliest kinds only."""
    readings = prefer(
        [reading for reading in readings if not reading.impossible], lambda r: not r.odd
    )
    least = min((reading.misfit for reading in readings), default=0.0)
    if least <= FIT_TOLERANCE:  # some reading's letters are one language's: the best fits win
        readings = prefer(readings, lambda reading: reading.misfit <= least + FIT_MARGIN)
    else:  # names of several languages: words whose letters are one language's win
        least = min(reading.word_misfit for reading in readings)
        readings = prefer(readings, lambda reading: reading.word_misfit <= least)
        least = min(reading.misfit for reading in readings)  # then the fewest letters astray
        readings = prefer(readings, lambda reading: reading.misfit <= least + MIX_MARGIN)
    return prefer(readings, lambda reading: reading.windows)


def prefer(readings: list[Reading], test: Callable[[Reading], bool]) -> list[Reading]:
    """Return the readings that pass ``test``, or all of them when none does."""
    return [reading for reading in readings if test(reading)] or readings
