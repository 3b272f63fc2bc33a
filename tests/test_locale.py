"""Translations: every marked string has its Spanish, the .mo files are current, and no template
shows a word a translator cannot reach.

The first two run ``scripts/messages.py`` (Babel: no GNU gettext needed); the third walks each
template's text nodes and attributes people read, outside ``translate`` / ``blocktranslate``.
"""

from __future__ import annotations

import importlib.util
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.template.base import Lexer, TokenType
from django.test import override_settings
from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "data_exchange_tool" / "templates").rglob("*.html"))
#: Attributes whose text people read (or hear).
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "value"}
#: Words that are the same in every language: file formats and acronyms in capitals.
WORD = re.compile(r"[^\W\d_]{2,}")


def load_messages():
    spec = importlib.util.spec_from_file_location("messages", ROOT / "scripts" / "messages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def messages():
    return load_messages()


def test_every_marked_string_has_a_spanish_translation(messages):
    assert messages.problems("es") == []


def test_the_compiled_catalogs_match_the_po_files(messages):
    assert messages.stale_mo("es") == []


def test_the_package_data_ships_the_compiled_catalogs():
    setup = (ROOT / "setup.cfg").read_text()
    assert "locale/*/LC_MESSAGES/*.mo" in setup
    assert (ROOT / "data_exchange_tool/locale/es/LC_MESSAGES/django.mo").exists()


def readable_words(text: str) -> list[str]:
    """Return the words of ``text`` a translator should see (not acronyms like CSV)."""
    return [word for word in WORD.findall(text) if not word.isupper()]


class TextNodes(HTMLParser):
    """Collect the text nodes and read attributes of an HTML fragment (scripts and styles out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value and readable_words(value.replace("\0", " ")):
                self.found.append(f'{tag}[{name}="{value}"]')

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and readable_words(data.replace("\0", " ")):
            self.found.append(data.replace("\0", " ").strip())


def unmarked_text(source: str) -> list[str]:
    """Return the words of a template outside translate/blocktranslate (tags become NUL)."""
    parts: list[str] = []
    closing = None  # the tag that ends a block whose content is not shown as it is
    for token in Lexer(source).tokenize():
        if closing is not None:
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] == closing:
                closing = None
            continue
        if token.token_type == TokenType.TEXT:
            parts.append(token.contents)
            continue
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0]
            if name in ("blocktranslate", "blocktrans"):
                closing = "end" + name
            elif name == "comment":
                closing = "endcomment"
            elif token.contents.split()[1:2] == ["bodyclass"]:
                closing = "endblock"  # CSS class names, not words
        parts.append("\0")
    parser = TextNodes()
    parser.feed("".join(parts))
    return parser.found


@pytest.mark.parametrize("path", TEMPLATES, ids=[p.name for p in TEMPLATES])
def test_templates_hold_no_unmarked_text(path):
    assert unmarked_text(path.read_text()) == []


def test_the_walker_finds_unmarked_text():
    assert unmarked_text("<p>Hello {{ name }}</p>") == ["Hello"]
    assert unmarked_text('<a title="Go there">{% translate "x" %}</a>') == ['a[title="Go there"]']
    assert unmarked_text("<p>{% blocktranslate %}Hi {{ x }}{% endblocktranslate %} CSV</p>") == []
    assert unmarked_text("<p>{% translate 'Hi' %} · 12 &rsaquo; —</p>") == []


@override_settings(LANGUAGE_CODE="es")
def test_the_states_and_refusals_speak_spanish(db):
    from data_exchange_tool.locking import STATE_REFUSALS
    from data_exchange_tool.states import JobState

    with translation.override("es"):
        assert str(JobState.PREVIEW_FAILED.label) == "Vista previa fallida"
        assert STATE_REFUSALS[JobState.IMPORT_SUCCEEDED]() == "Este archivo ya está importado."
