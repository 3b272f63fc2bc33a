#!/usr/bin/env python
"""
The translations of data_exchange_tool: extract, update, compile and check, in Python only.

    python scripts/messages.py update   # make messages: extract, merge into each .po, compile .mo
    python scripts/messages.py check    # exit 1, listing what is missing or stale

Strings are extracted with Babel, as Django's ``makemessages`` would find them: from the package's
Python files (``gettext``, ``gettext_lazy``, ``ngettext``, ``pgettext`` and their lazy forms) and
from its templates (``translate`` / ``blocktranslate``, through Django's own ``templatize``).
Babel also reads and writes the ``.po`` files and compiles the ``.mo`` files Django loads, so no
GNU gettext is needed, neither here nor in the tests (``tests/test_locale.py`` runs ``check``).

``check`` fails when a marked string has no translation in a shipped language (or a fuzzy or
empty one), or when a ``.mo`` file does not hold what its ``.po`` says (compile it again).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_python
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "data_exchange_tool"
LOCALE = PACKAGE / "locale"
#: The languages shipped, each complete.
LANGUAGES = ("es",)
DOMAIN = "django"
#: Django's translation functions, as Babel's keyword specs.
KEYWORDS: dict[str, Any] = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}


def _django() -> None:
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_I18N=True)


def extract_django_template(
    fileobj: Any, keywords: Any, comment_tags: Any, options: Any
) -> Iterator[Any]:
    """Babel extractor of a Django template: ``templatize`` it, then read it as Python."""
    from django.utils.translation.template import templatize

    _django()
    source = fileobj.read().decode("utf-8")
    python = templatize(source).encode("utf-8")
    yield from extract_python(io.BytesIO(python), keywords, comment_tags, options)


METHODS = [
    ("**/migrations/**.py", "ignore"),
    ("**.py", "python"),
    ("**/templates/**.html", extract_django_template),
]


def extract() -> Catalog:
    """Return every string the package marks, as a template catalog."""
    catalog = Catalog(project="django-data-exchange-tool", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE),
        METHODS,
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    ):
        location = (f"data_exchange_tool/{filename}", lineno)
        catalog.add(message, None, [location], auto_comments=comments, context=context)
    return catalog


def po_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(path: Path, language: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=language, domain=DOMAIN)
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def update() -> None:
    """Merge the extracted strings into each language's .po and compile its .mo."""
    template = extract()
    for language in LANGUAGES:
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = read_catalog(path, language)
        created = catalog.creation_date if path.exists() else template.creation_date
        catalog.update(template, update_header_comment=False)
        catalog.creation_date = created  # a run that changes no message changes no file
        describe(catalog, language)
        catalog.obsolete.clear()
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=False, omit_header=False)
        compile_mo(language)
        print(f"{path.relative_to(ROOT)}: {len(catalog)} messages, {len(problems(language))} to do")


def describe(catalog: Catalog, language: str) -> None:
    """Fill the catalog's header (the shipped files carry no placeholders)."""
    catalog.fuzzy = False
    catalog.project = "django-data-exchange-tool"
    catalog.version = ""
    catalog.copyright_holder = "the django-data-exchange-tool authors"
    catalog.msgid_bugs_address = ""
    catalog.last_translator = "the django-data-exchange-tool authors"
    catalog.language_team = f"{language} <>"
    catalog.header_comment = (
        "# Translations of django-data-exchange-tool.\n"
        "# This file is distributed under the same license as the package (MIT).\n"
        "# Update with `make messages`; `python scripts/messages.py check` lists what is missing."
    )


def compile_mo(language: str) -> None:
    """Write the .mo Django loads from the language's .po (fuzzy entries left out)."""
    catalog = read_catalog(po_path(language), language)
    with po_path(language).with_suffix(".mo").open("wb") as handle:
        write_mo(handle, catalog, use_fuzzy=False)


def _key(message_id: Any) -> Any:
    return tuple(message_id) if isinstance(message_id, list | tuple) else message_id


def problems(language: str) -> list[str]:
    """Return what is missing from the language's .po: untranslated, fuzzy or empty strings."""
    catalog = read_catalog(po_path(language), language)
    found = []
    for message in extract():
        if not message.id:
            continue
        entry = catalog.get(message.id, context=message.context)
        name = message.id if isinstance(message.id, str) else message.id[0]
        where = ", ".join(f"{f}:{n}" for f, n in message.locations[:1])
        if entry is None:
            found.append(f"{language}: no entry for {name!r} ({where})")
        elif entry.fuzzy:
            found.append(f"{language}: fuzzy entry for {name!r} ({where})")
        elif not _translated(entry.string):
            found.append(f"{language}: empty translation of {name!r} ({where})")
    return found


def _translated(string: Any) -> bool:
    if isinstance(string, list | tuple):
        return bool(string) and all(string)
    return bool(string)


def stale_mo(language: str) -> list[str]:
    """Return the messages whose compiled .mo differs from the .po."""
    path = po_path(language).with_suffix(".mo")
    if not path.exists():
        return [f"{language}: {path.relative_to(ROOT)} is missing: run make messages"]
    catalog = read_catalog(po_path(language), language)
    with path.open("rb") as handle:
        compiled = read_mo(handle)
    want = {
        (_key(m.id), m.context): _key(m.string)
        for m in catalog
        if m.id and not m.fuzzy and _translated(m.string)
    }
    have = dict(_compiled_entry(m) for m in compiled if m.id)
    if want == have:
        return []
    differ = sorted(str(k[0])[:60] for k in set(want) ^ set(have))
    differ += sorted(str(k[0])[:60] for k in set(want) & set(have) if want[k] != have[k])
    where = path.relative_to(ROOT)
    return [f"{language}: {where} is stale ({len(differ)}: {differ[:3]}); run make messages"]


def _compiled_entry(message: Any) -> tuple[Any, Any]:
    """Return ``((id, context), string)`` of a .mo entry (a context is stored as ``ctx\x04id``)."""
    key, context = _key(message.id), message.context
    if isinstance(context, bytes):  # Babel's .mo reader leaves a context undecoded
        context = context.decode("utf-8")
    first = key[0] if isinstance(key, tuple) else key
    if context is None and "\x04" in first:
        context, first = first.split("\x04", 1)
        key = (first, *key[1:]) if isinstance(key, tuple) else first
    return (key, context), _key(message.string)


def check() -> list[str]:
    """Return every problem of every shipped language."""
    return [p for language in LANGUAGES for p in (*problems(language), *stale_mo(language))]


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "update":
        update()
        return 0
    if command == "check":
        found = check()
        for line in found:
            print(line)
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
