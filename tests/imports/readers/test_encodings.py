"""Which encoding a file is in: BOMs, strict UTF-8, the legacy code pages, refusals."""

from __future__ import annotations

import codecs

import pytest

from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers.encodings import (
    LEGACY_ENCODINGS,
    Reading,
    check_encoding,
    detect,
    redetect,
)
from data_exchange_tool.imports.readers.signatures import describe, looks_binary, not_text

TEXT = "name;city\r\nZoë;Zürich\r\n"


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (codecs.BOM_UTF8 + TEXT.encode(), "utf-8-sig"),
        (TEXT.encode("utf-16"), "utf-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
        (TEXT.encode("utf-32"), "utf-32"),  # FF FE 00 00: not UTF-16 LE's FF FE
        (codecs.BOM_UTF32_BE + TEXT.encode("utf-32-be"), "utf-32"),
    ],
    ids=["utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"],
)
def test_a_bom_decides(content, encoding):
    found = detect(content, complete=True)
    assert (found.encoding, found.how) == (encoding, "bom")
    assert content.decode(found.encoding) == TEXT


def test_utf8_is_strict_but_a_character_cut_at_the_end_of_the_sample_is_fine():
    head = "Zoë".encode()[:-1]
    assert detect(head, complete=False).encoding == "utf-8"
    with pytest.raises(FileFormatError, match="cannot be told for sure"):
        detect(head, complete=True)  # not UTF-8, and one byte cannot tell which code page


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("Kunde;Stadt\r\nJürgen Müller;Köln\r\nFrançoise;Besançon\r\n", "cp1252"),
        ("Klient;Miasto\r\nZażółć gęślą jaźń;Łódź\r\nŚwiętość;Kraków\r\n", "cp1250"),
        ("Имя;Город\r\nСъешь же ещё этих мягких французских булок;Москва\r\n", "cp1251"),
        ("名前;都市\r\n山田太郎;東京都\r\n緑茶（５００ｍｌ）～;大阪\r\n", "cp932"),
    ],
    ids=["western", "central", "cyrillic", "japanese"],
)
def test_legacy_code_pages_are_detected(text, codec):
    found = detect(text.encode(codec), complete=True)
    assert (found.encoding, found.how) == (codec, "detected")


def test_a_tie_goes_to_the_most_common_code_page():
    # "Café 5 €" reads alike in cp1250 and cp1252: the one listed first wins.
    assert detect("name,price\nCafé,5 €\n".encode("cp1252"), True).encoding == "cp1252"
    legacy = ("cp1250", *(c for c in LEGACY_ENCODINGS if c != "cp1250"))
    assert detect("name,price\nCafé,5 €\n".encode("cp1252"), True, legacy).encoding == "cp1250"


def test_no_credible_code_page_is_refused_naming_what_was_tried():
    with pytest.raises(FileFormatError) as refused:
        detect(bytes(range(128, 256)) * 8, complete=True, legacy=("cp1252",))
    message = str(refused.value)
    assert "not recognised: it is not UTF-8 (byte 0x80 at position 0)" in message
    assert "tried: UTF-8, UTF-16 and UTF-32" in message
    assert "choose its encoding on upload" in message


HEBREW = "לקוח,יישוב\r\nצביקה שטרן,קריית שמונה\r\nשושנה צוקרמן,זכרון יעקב\r\n"


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        (HEBREW, "cp1255"),
        ("العميل,المدينة\r\nمحمد العلي,الرياض\r\nفاطمة الحسن,القاهرة\r\n", "cp1256"),
        ("ลูกค้า,จังหวัด\r\nสมชาย ใจดี,เชียงใหม่\r\nมาลี ทองคำ,ขอนแก่น\r\n", "cp874"),
        ("Ügyfél;Város\r\nSzűcs Győző;Győr\r\nFülöp Tünde;Pécs\r\n", "cp1250"),
        ("Klientas;Miestas\r\nRūta Žukauskaitė;Klaipėda\r\nEglė Butkus;Šiauliai\r\n", "cp1257"),
        ("고객명,도시\r\n김민준,서울특별시\r\n이서연,부산광역시\r\n", "cp949"),
        ("編號,商品名稱,單價\r\n1,珍珠奶茶 €5,碁盤\r\n2,鳳梨酥 12入,恒春\r\n", "cp950"),
    ],
    ids=["hebrew", "arabic", "thai", "hungarian", "lithuanian", "korean", "big5-windows"],
)
def test_code_pages_beyond_western_europe_are_read_right(text, codec):
    data = text.encode(codec)
    assert data.decode(detect(data, complete=True).encoding) == text


@pytest.mark.parametrize(
    ("text", "defect"),
    [
        ("ЮАИ НФЬГИ,ЗЛ ЮАИА,НАЖР ЗЛ ЮАИА ЖНОПКА", "almost all capitals"),
        ("NguyêŢn,NăŢng,măĚm Phú QuôĚc", "capitals inside words"),  # cp1258 read as cp1250
        ("Mـller,Kвrlis Vоtola,Rзzekne", "letters of two scripts inside words"),
        ("Bucureºti,Timiºoara,Pre₫ul,Brânză", "symbols inside words"),  # cp1250 read as cp1258
        ("Adri‡n G—mez,Logro–o,Env’o gratis", "symbols inside words"),  # Mac Roman as cp1252
        ("Τιμή ¤,Φέτα ΠΟΠ", "a currency sign no one types"),  # ISO-8859-7 read as cp1253
    ],
)
def test_odd_readings_are_named(text, defect):
    assert Reading("x", 0.0, 0.0, text).odd == defect


@pytest.mark.parametrize(
    ("text", "defect"),
    [
        ("เแ ๆ๘,๚ เแแ,แ๖๒ โใไ", "Thai without consonants"),
        (",\u05b0\u05b4 x\u05b8, \u05b9", "combining marks without a letter"),
    ],
)
def test_impossible_readings_are_named(text, defect):
    assert Reading("x", 0.0, 0.0, text).impossible == defect


def test_capitals_are_odd_only_in_a_code_page_excel_does_not_write():
    caps = "ИВАН ПЕТРОВ,МОСКВА,ГРЕЧКА ЯДРИЦА"
    assert Reading("cp1251", 0.0, 0.0, caps).odd == ""  # sheets are often in capitals
    assert Reading("koi8-r", 0.0, 0.0, caps).odd == "almost all capitals"  # Hebrew as KOI8-R


def test_russian_in_capitals_reads_right_in_windows_1251_and_is_refused_in_koi8_r():
    text = "ТОВАР;ГОРОД\r\nГРЕЧКА ЯДРИЦА;МОСКВА\r\nПЕЛЬМЕНИ ДОМАШНИЕ;КАЗАНЬ\r\nКВАС;САМАРА\r\n"
    assert detect(text.encode("cp1251"), complete=True).encoding == "cp1251"
    # In KOI8-R windows-1251 reads it as small letters and KOI8-R's capitals are set aside as
    # Hebrew read as KOI8-R is: charset-normalizer finds KOI8-R more coherent, so it is refused.
    with pytest.raises(FileFormatError, match=r"or as Russian \(KOI8-R\)"):
        detect(text.encode("koi8_r"), complete=True)


def test_real_text_has_no_defect():
    for text in (
        HEBREW,
        "สมชาย ใจดี,เชียงใหม่",
        "Nguyê\u0303n Văn An",
        "Иван Петров,Москва",
        "ハンカチ～花柄～",
        "Nº 5,Café « Spécial »,½ kg",
        "O\u2019Brien,Col·legi,l\u2019été,Nord-Süd",
    ):
        reading = Reading("x", 0.0, 0.0, text)
        assert (reading.impossible, reading.odd) == ("", ""), text


def test_a_late_failure_is_detected_again_around_it():
    window = b"plain ascii\r\n" * 50 + "Café Müller, 12 € – bientôt\r\n".encode("cp1252")
    assert redetect(window, "utf-8") == "cp1252"
    assert redetect(window, "cp1252") is None  # nothing better than what failed


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("UTF-8", "utf-8"), ("latin1", "iso8859-1"), ("Windows-1251", "cp1251"),
     ("shift_jis", "shift_jis"), ("ISO-8859-2", "iso8859-2")],
)  # fmt: skip
def test_a_named_encoding_is_checked_against_pythons_codecs(name, canonical):
    assert check_encoding(name) == canonical


@pytest.mark.parametrize("name", ["klingon", "base64", "rot13", "hex"])
def test_names_that_are_not_text_encodings_are_refused(name):
    with pytest.raises(LookupError):
        check_encoding(name)


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "a PNG image"),
        (b"PK\x03\x04\x14\x00\x00\x00[Content_Types].xml", "a ZIP archive (an XLSX workbook?)"),
        (b"PK\x03\x04\x0a\x00mimetypeapplication/vnd.oasis.opendocument.spreadsheet",
         "a ZIP archive (an ODS workbook?)"),
        (b"PK\x03\x04data.csv", "a ZIP archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "an OLE2 compound file (an XLS workbook?)"),
        (b"%PDF-1.7", "a PDF document"),
        (b"\x1f\x8b\x08\x00", "a GZIP archive"),
    ],
)  # fmt: skip
def test_known_signatures_are_named(head, what):
    assert describe(head) == what
    assert not_text(head) == what


def test_binary_data_is_told_from_text():
    assert looks_binary(bytes(range(256)) * 16)
    assert looks_binary(b"id\x00name\nx")
    assert not looks_binary(b"a,b\r\n1,\x002\r\n")  # a NUL further down: a cell's problem
    assert not looks_binary("a,b\r\n".encode("utf-16"))  # NUL bytes, but a BOM: text
    assert not_text(b"id,name\r\n1,Alice\r\n") is None
