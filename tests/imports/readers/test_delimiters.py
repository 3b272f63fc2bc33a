"""Delimiters judged from records (quote-aware), and the delimiters people may name."""

from __future__ import annotations

import pytest

from data_exchange_tool.imports.readers.delimiters import check_delimiter, sniff_delimiter

CASES = [
    ("plain comma", "id,name,price\r\n1,Apple,1.50\r\n2,Pear,2.00\r\n", ","),
    ("quoted header, ';'", '"Last, First";Price\r\n"Doe, John";12,50\r\n"Roe, Jane";7\r\n', ";"),
    ("tie in the header", "Date;Value, EUR;Notes, x\r\n05.03.2024;1,5;ok\r\n06.03;2;a\r\n", ";"),
    ("one column", "Email\r\nalice@example.com\r\nbob@example.com\r\n", ","),
    ("one column, quoted commas", 'Name\r\n"Doe, John"\r\nAlice\r\n', ","),
    ("tab", "a\tb\tc\r\n1,5\t2;3\t4\r\n", "\t"),
    ("pipe", "a|b|c\r\n1,5|2;3|4\r\n", "|"),
    ("title line, then ';'", "Products\r\nid;name;price\r\n1;Apple;1,50\r\n2;Pear;2\r\n", ";"),
    ("quoted line break in the header", '"Name\nfull";Zip\r\n"Doe, J";01234\r\n', ";"),
    ("header only, ';'", "id;name;price\r\n", ";"),
    ("header only, one word", "id\r\n", ","),
    ("LF line ends", "a;b\n1;2\n3;4\n", ";"),
    ("blank lines between", "a;b\r\n\r\n1;2\r\n\r\n3;4\r\n", ";"),
    ("stray quote in a cell", 'a;b;c\r\n1;5" disk;x\r\n2;3;y\r\n', ";"),
    ("comma file, ';' in quoted text", 'name,comment\r\nBob,"a;b;c;d;e"\r\nAnn,"x;y"\r\n', ","),
    ("more columns wins a consistency tie", "a,b;c;d\r\n1,2;3;4\r\n", ";"),
]


@pytest.mark.parametrize(("name", "sample", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_delimiter_is_judged_from_the_records(name, sample, expected):
    assert sniff_delimiter(sample) == expected


def test_a_cut_sample_ignores_its_partial_last_record():
    sample = "a;b;c\r\n" + "1;2;3\r\n" * 20 + '4;"cut, in the mid'
    assert sniff_delimiter(sample, complete=False) == ";"


def test_only_the_candidates_are_considered():
    assert sniff_delimiter("a;b\r\n1;2\r\n", candidates=",|") == ","


@pytest.mark.parametrize(
    ("name", "delimiter"),
    [(",", ","), (";", ";"), ("\t", "\t"), ("\\t", "\t"), ("tab", "\t"), ("TAB", "\t"),
     ("|", "|"), ("semicolon", ";"), (" ; ", ";")],
)  # fmt: skip
def test_a_named_delimiter(name, delimiter):
    assert check_delimiter(name) == delimiter


@pytest.mark.parametrize("name", [":", "ab", "space", "\x00"])
def test_other_delimiters_are_refused_in_words(name):
    with pytest.raises(ValueError, match=r"use , \(comma\), ; \(semicolon\), tab or \| \(pipe\)"):
        check_delimiter(name)
