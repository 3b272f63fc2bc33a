"""
Columns of the target: a row's values as Django would save them, checked and encoded once per
column.

The import writes rows without building a model instance per row (``writes``), so what
``Model.save()`` would apply to each value is decided here, once per column and run:

- ``RowShape`` turns a serializer's validated data into the row to write, ``{attname: value}``:
  a related object becomes the value of the key it is referenced by (its pk, or a
  ``ForeignKey(to_field=...)``'s field). Many-to-many and names that are no column are left out.
- ``ValueChecks`` find the values the database would refuse (text longer than its
  ``varchar(n)``, NUL in text or JSON, an integer out of its column's range, a decimal over its
  digits once rounded): validation turns them into row errors naming the column, in the preview
  as in the import, so a bad value never reaches a ``COPY``.
- ``ColumnCodec`` prepares a value as ``get_db_prep_save`` does and encodes it as one field of
  PostgreSQL's text ``COPY``. For a stock field and a value of the exact type it expects the
  preparation would return the value unchanged, so it is skipped; anything else goes through the
  field's own ``get_db_prep_save`` and psycopg's own text dumper.
- ``Clock`` is what ``pre_save`` reads for ``auto_now`` / ``auto_now_add``, read once per batch.
- ``normalizer`` says how a validated value compares with what the database holds (a decimal
  rounded to its column's places, a naive datetime made aware), for the update's diff.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import partial
from typing import Any, TypeGuard, TypeVar
from uuid import UUID

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models.fields.related import RelatedField
from django.utils import timezone
from rest_framework import fields as drf
from rest_framework import relations

from data_exchange_tool.conf import use_tz

Row = dict[str, Any]
#: ``(attname, message)`` of a value the database would refuse.
Refusal = tuple[str, str]
Check = Callable[[Any], "str | None"]

NULL = "\\N"
_F = TypeVar("_F", bound=models.Field)
_SPECIAL = re.compile(r"[\\\t\n\r]")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
#: ``\u0000`` in JSON text that is an escape, not an escaped backslash followed by ``u0000``.
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_PREP_METHODS = ("get_db_prep_save", "get_db_prep_value", "get_prep_value", "to_python")
#: Stock fields whose preparation returns a value of this exact type unchanged (on PostgreSQL).
_IDENTITY_TYPES: tuple[tuple[type[models.Field], type], ...] = (
    (models.BigAutoField, int),
    (models.AutoField, int),
    (models.SmallAutoField, int),
    (models.IntegerField, int),
    (models.CharField, str),
    (models.TextField, str),
    (models.BooleanField, bool),
    (models.DecimalField, Decimal),
    (models.DateTimeField, datetime.datetime),
    (models.DateField, datetime.date),
    (models.UUIDField, UUID),
)
_TEXT_TYPES = {"CharField", "TextField", "SlugField", "EmailField", "URLField", "FilePathField"}


class Refused(Exception):
    """A value the database would refuse; ``message`` says why, for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Clock:
    """What ``pre_save`` reads for ``auto_now`` / ``auto_now_add``, read once per batch."""

    now: datetime.datetime
    today: datetime.date
    time: datetime.time

    @classmethod
    def read(cls) -> Clock:
        """Read the clock as ``DateTimeField``, ``DateField`` and ``TimeField.pre_save`` do."""
        return cls(
            now=timezone.now(),
            today=datetime.date.today(),  # noqa: DTZ011 - DateField.pre_save's own call
            time=datetime.datetime.now().time(),  # noqa: DTZ005 - TimeField.pre_save's own call
        )

    def value_for(self, field: models.Field) -> Any:
        """Return the value ``pre_save`` gives an ``auto_now(_add)`` field of ``field``'s kind."""
        if isinstance(field, models.DateTimeField):
            return self.now
        if isinstance(field, models.DateField):
            return self.today
        return self.time


def is_auto_now(field: models.Field) -> bool:
    """Return True for an ``auto_now`` field (set on every save)."""
    return bool(getattr(field, "auto_now", False))


def is_auto_stamp(field: models.Field) -> bool:
    """Return True for an ``auto_now`` or ``auto_now_add`` field (set on insert)."""
    return is_auto_now(field) or bool(getattr(field, "auto_now_add", False))


# --- the rows to write ------------------------------------------------------------------------


class RowShape:
    """The columns a serializer writes, and its validated data as a row of them.

    ``names`` are the serializer's writable sources (the keys of its validated data); those that
    name a concrete, non-many-to-many field of ``model`` (by name or attname) are the columns:
    ``columns`` pairs each source with its field, in the serializer's order.
    """

    def __init__(self, model: type[models.Model], names: Iterable[str]) -> None:
        self.model = model
        meta = model._meta
        self.columns: list[tuple[str, models.Field]] = []
        taken: set[str] = set()
        for name in dict.fromkeys(names):
            try:
                field = meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if not isinstance(field, models.Field) or not field.concrete or field.many_to_many:
                continue  # not a column of the table
            if field.attname not in taken:
                taken.add(field.attname)
                self.columns.append((name, field))
        self.fields = [field for _, field in self.columns]
        self.attnames = [f.attname for f in self.fields]
        self.attname_of = {name: f.attname for name, f in self.columns}
        self.name_of = {f.attname: name for name, f in self.columns}
        self._plan = [
            (name, f.attname, f.target_field.attname if isinstance(f, RelatedField) else None)
            for name, f in self.columns
        ]

    def row(self, validated: dict[str, Any]) -> Row:
        """Return validated data as ``{attname: value}`` (related objects by their key)."""
        row: Row = {}
        for name, attname, target in self._plan:
            if name in validated:
                value = validated[name]
                if target is not None and isinstance(value, models.Model):
                    value = getattr(value, target)
                row[attname] = value
        return row


# --- checks: what the database would refuse ---------------------------------------------------


def _texts_pass(max_length: int | None, values: Sequence[str]) -> bool:
    """True when ``_text_check(max_length)`` passes every text of ``values`` (all ``str``), in a
    few loops that run in C: the longest text, one joined text for NUL and surrogates."""
    if max_length is not None and max(map(len, values)) > max_length:
        return False
    joined = "".join(values)
    if "\x00" in joined:
        return False
    if not joined.isascii():
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True


def _text_check(max_length: int | None) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        if max_length is not None and len(value) > max_length:
            return f"Ensure this value has at most {max_length} characters (it has {len(value)})."
        if "\x00" in value:
            return "The text contains a NUL character."
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "The text contains a character that cannot be encoded (a lone surrogate)."
        return None

    check.column = partial(_texts_pass, max_length)  # type: ignore[attr-defined]
    return check


def _range_check(low: int, high: int) -> Check:
    def column(values: Sequence[int]) -> bool:
        """True when ``check`` passes every integer of ``values`` (all ``int``)."""
        return low <= min(values) and max(values) <= high

    def check(value: Any) -> str | None:
        if isinstance(value, int) and not low <= value <= high:
            return f"Ensure this value is between {low} and {high}."
        return None

    check.column = column  # type: ignore[attr-defined]
    return check


def decimal_fits(value: Decimal, max_digits: int, decimal_places: int) -> bool:
    """Return True when ``numeric(max_digits, decimal_places)`` takes ``value`` once rounded
    (half away from zero, as PostgreSQL rounds)."""
    whole_digits = max_digits - decimal_places
    if value.adjusted() < whole_digits - 1:  # fewer whole digits: fits whatever the rounding
        return True
    try:
        rounded = value.quantize(Decimal(1).scaleb(-decimal_places), rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than the context's precision
        return False
    return rounded.adjusted() < whole_digits or rounded.is_zero()


def _decimal_check(max_digits: int | None, decimal_places: int | None) -> Check:
    def column(values: Sequence[Decimal]) -> bool:
        """True when ``check`` passes every decimal of ``values`` (all finite ``Decimal``): each
        has fewer whole digits than the column allows, whatever its rounding (as
        ``decimal_fits``' first test); any other column is checked value by value."""
        if max_digits is None:
            return True
        whole_digits = max_digits - (decimal_places or 0)
        return max(map(Decimal.adjusted, values)) < whole_digits - 1

    def check(value: Any) -> str | None:
        if not isinstance(value, Decimal):
            return None
        if not value.is_finite():
            return "Enter a finite number."
        if max_digits is not None and not decimal_fits(value, max_digits, decimal_places or 0):
            return f"Ensure that there are no more than {max_digits} digits in total."
        return None

    check.column = column  # type: ignore[attr-defined]
    return check


def _json_value_check(value: Any) -> str | None:
    """Find NUL in the strings of a JSON value (keys included), which jsonb refuses."""
    stack = [getattr(value, "obj", value)]  # a prepared value is psycopg's Jsonb wrapper
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "The JSON value contains a NUL character."
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None


def _json_text_check(text: str) -> str | None:
    if "\\u0000" in text and _JSON_NUL.search(text):
        return "The JSON value contains a NUL character."
    return None


def value_check(field: models.Field, connection: Any) -> Check | None:
    """Return the check of a value of ``field``, or None when nothing needs one.

    Integer ranges are the connection's (Django's own model validation uses them); text,
    decimals and JSON are checked alike on every database, so a preview on SQLite reports what
    PostgreSQL would refuse.
    """
    target = field.target_field if isinstance(field, RelatedField) else field
    internal = target.get_internal_type()
    if internal in _TEXT_TYPES or isinstance(target, models.CharField | models.TextField):
        return _text_check(getattr(target, "max_length", None))
    if internal in BaseDatabaseOperations.integer_field_ranges:
        return _range_check(*connection.ops.integer_field_range(internal))
    if isinstance(target, models.DecimalField):
        return _decimal_check(target.max_digits, target.decimal_places)
    if isinstance(target, models.JSONField):
        return _json_value_check
    return None


def covered(serializer_field: Any, field: models.Field, connection: Any) -> bool:
    """Return True when ``serializer_field`` already refuses what ``field``'s column would:
    a related field (an existing object's key), a ``CharField`` within the column's length that
    refuses NUL, an ``IntegerField`` within the column's range, a ``DecimalField`` within the
    column's digits. Such a column needs no check of its own in validation (the writer still
    checks every value it sends)."""
    if field.is_relation:
        return isinstance(serializer_field, relations.RelatedField)
    if isinstance(serializer_field, drf.CharField) and isinstance(field, models.CharField):
        limit, validators = serializer_field.max_length, serializer_field.validators
        no_nul = any(isinstance(v, ProhibitNullCharactersValidator) for v in validators)
        return no_nul and limit is not None and limit <= (field.max_length or limit)
    if isinstance(serializer_field, drf.IntegerField):
        internal = field.get_internal_type()
        if internal not in BaseDatabaseOperations.integer_field_ranges:
            return False
        low, high = connection.ops.integer_field_range(internal)
        least, most = serializer_field.min_value, serializer_field.max_value
        return least is not None and most is not None and low <= least and most <= high
    if isinstance(serializer_field, drf.DecimalField) and isinstance(field, models.DecimalField):
        digits, places = serializer_field.max_digits, serializer_field.decimal_places
        most, most_places = field.max_digits, field.decimal_places
        if digits is None or places is None or most is None or most_places is None:
            return False
        return places <= most_places and digits - places <= most - most_places
    return False


class ValueChecks:
    """The checks of the columns a run writes; see ``value_check``.

    ``serializer_fields`` (``{attname: serializer field}``) leaves out the checks a serializer
    field already makes (``covered``).
    """

    def __init__(
        self,
        fields: Iterable[models.Field],
        connection: Any,
        serializer_fields: dict[str, Any] | None = None,
    ) -> None:
        given = serializer_fields or {}
        self.checks = [
            (field.attname, check)
            for field in fields
            if (check := value_check(field, connection)) is not None
            and not (field.attname in given and covered(given[field.attname], field, connection))
        ]

    def refusals(self, row: Row) -> list[Refusal]:
        """Return ``(attname, message)`` of each value of ``row`` the database would refuse.

        Values are checked as the serializer left them; a value of another type than the
        field's own is checked again once prepared, by the writer.
        """
        found = []
        for attname, check in self.checks:
            value = row.get(attname)
            if value is not None and (message := check(value)) is not None:
                found.append((attname, message))
        return found


# --- comparing with what is stored ------------------------------------------------------------


def same_value(value: Any) -> Any:
    """The normalizer of a value compared as it is."""
    return value


def normalizer(field: models.Field) -> Callable[[Any], Any]:
    """Return how a row's value of ``field`` compares with the value the database holds."""
    if isinstance(field, models.DecimalField) and field.decimal_places is not None:
        exponent = Decimal(1).scaleb(-field.decimal_places)

        def rounded(value: Any) -> Any:
            if isinstance(value, Decimal) and value.is_finite():
                try:
                    return value.quantize(exponent, rounding=ROUND_HALF_UP)
                except InvalidOperation:
                    return value
            return value

        return rounded
    if isinstance(field, models.DateTimeField) and use_tz():
        return lambda v: (
            timezone.make_aware(v) if isinstance(v, datetime.datetime) and timezone.is_naive(v)
            else v
        )  # fmt: skip
    return same_value


# --- preparing and encoding one column (PostgreSQL's text COPY) -------------------------------


def _stock(field: models.Field, base: type[_F]) -> TypeGuard[_F]:
    """Return True when ``field`` prepares values exactly as ``base`` does."""
    kind = type(field)
    return isinstance(field, base) and all(
        getattr(kind, name) is getattr(base, name) for name in _PREP_METHODS
    )


def identity_type(field: models.Field, connection: Any) -> type | None:
    """Return the type whose values ``field.get_db_prep_save`` returns unchanged (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None
    if isinstance(field, models.ForeignKey):
        stock = type(field).get_db_prep_save is models.ForeignKey.get_db_prep_save
        return identity_type(field.target_field, connection) if stock else None
    for base, kind in _IDENTITY_TYPES:
        if _stock(field, base):
            return kind
    return None


def escape(text: str) -> str:
    """Return ``text`` as a field of text ``COPY``: backslash, tab, newline, CR escaped."""
    return text.translate(_ESCAPES) if _SPECIAL.search(text) else text


#: ``json.dumps`` without options (an encoder with ``json.dumps``' defaults).
_JSON_ENCODE = json.JSONEncoder().encode


class ColumnCodec:
    """How one column's values are prepared, checked and encoded; built once per writer.

    ``dumpers`` is psycopg's ``Transformer`` of the connection: the text of any value that is
    not a string, number, boolean, date or UUID (JSON, floats, intervals, times...) is psycopg's
    own, byte for byte what it would send.
    """

    def __init__(self, field: models.Field, connection: Any, dumpers: Any) -> None:
        self.field = field
        self.attname = field.attname
        self.column = field.column
        self.connection = connection
        self.fast_type = identity_type(field, connection)
        # A naive datetime takes the slow path: Django's warning and make_aware, as save() does.
        self.aware = self.fast_type is datetime.datetime and use_tz()
        self.check = value_check(field, connection)
        self.dumpers = dumpers
        self.is_json = isinstance(field, models.JSONField)
        # A stock JSONField sends json.dumps(value, cls=its encoder) (Django's Jsonb on
        # PostgreSQL): encoded here directly.
        self.json_dumps: Callable[[Any], str] | None = None
        if (
            connection.vendor == "postgresql"
            and _stock(field, models.JSONField)
            and type(field).get_db_prep_save is models.JSONField.get_db_prep_save
        ):
            encoder = field.encoder
            # ``json.dumps(value)`` with no options is its module's default encoder's ``encode``:
            # the same text, without the options checked on every call.
            self.json_dumps = _JSON_ENCODE if encoder is None else partial(json.dumps, cls=encoder)

    def prepare(self, value: Any) -> Any:
        """Return ``value`` as ``get_db_prep_save`` does; raise ``Refused`` for a bad value."""
        kind = type(value)
        if value is None and self.fast_type is not None:
            return None  # stock fields write None as NULL
        if kind is not self.fast_type or (self.aware and value.tzinfo is None):
            value = self._prepare_slowly(value)
        elif kind is Decimal and not value.is_finite():
            raise Refused("Enter a finite number.")
        if self.check is not None and value is not None:
            message = self.check(value)
            if message is not None:
                raise Refused(message)
        return value

    def _prepare_slowly(self, value: Any) -> Any:
        try:
            prepared = self.field.get_db_prep_save(value, self.connection)
        except (ValidationError, TypeError, ValueError) as exc:
            raise Refused(f"{value!r} cannot be saved: {exc}") from exc
        if hasattr(prepared, "as_sql"):
            raise Refused("An expression cannot be written by COPY.")
        return prepared

    def quick_text(self) -> Callable[[Any], str]:
        """Return ``text`` for the common values at fewer calls: a value of the column's own
        type (text, integer, decimal) or None goes through the same check and formatting
        inline; any other value through ``text``."""
        slow, check, kind = self.text, self.check, self.fast_type
        if self.json_dumps is not None or kind not in (str, int, Decimal):
            return slow
        special = _SPECIAL.search

        def text_of(value: Any) -> str:
            if value.__class__ is str and (check is None or check(value) is None):
                return value.translate(_ESCAPES) if special(value) else value
            return NULL if value is None else slow(value)

        def number_of(value: Any) -> str:
            value_: Any = value  # not narrowed by the class test below (a decimal here)
            if (
                value.__class__ is kind
                and (kind is int or value_.is_finite())  # a decimal: as ``prepare``, first
                and (check is None or check(value) is None)
            ):
                return str(value)
            return NULL if value is None else slow(value)

        return text_of if kind is str else number_of

    def column_texts(self) -> Callable[[Sequence[Any]], list[str] | None]:
        """Return a call that gives ``[text(v) for v in values]`` for a whole column of a batch
        in a few loops that run in C, or None where it cannot tell (then ask value by value).

        It answers only for a column whose values are all of the column's own type (text,
        integer, finite decimal) or None (NULL) and pass the check as a whole (``check.column``: the
        longest text, one joined text for NUL and surrogates, the smallest and largest integer,
        the largest decimal's whole digits), which is where ``quick_text`` answers each value
        with its own text (escaped where needed).
        """
        kind, check = self.fast_type, self.check
        passes = getattr(check, "column", None) if check is not None else (lambda values: True)
        if self.json_dumps is not None or kind not in (str, int, Decimal) or passes is None:
            return lambda values: None
        only, with_null = {kind}, {kind, type(None)}
        finite = Decimal.is_finite

        def texts(values: Sequence[Any]) -> list[str] | None:
            kinds = set(map(type, values))
            if kinds == with_null:  # the others' texts, NULL for None
                found = texts([v for v in values if v is not None])
                if found is None:
                    return None
                given = iter(found)
                return [NULL if v is None else next(given) for v in values]
            if kinds != only:
                return None
            if kind is Decimal and not all(map(finite, values)):
                return None
            if not passes(values):
                return None
            if kind is not str:
                return list(map(str, values))
            if _SPECIAL.search("".join(values)):
                return [v.translate(_ESCAPES) if _SPECIAL.search(v) else v for v in values]
            return list(values)

        return texts

    def text(self, value: Any) -> str:
        """Return ``value`` prepared and encoded as one field of text ``COPY``."""
        if self.json_dumps is not None:
            return self._json_text(value, self.json_dumps)
        value = self.prepare(value)
        kind = type(value)
        if kind is str:
            return value.translate(_ESCAPES) if _SPECIAL.search(value) else value
        if kind is int or kind is Decimal or kind is UUID:
            return str(value)
        if value is None:
            return NULL
        if kind is bool:
            return "t" if value else "f"
        if kind is datetime.datetime or kind is datetime.date:
            return value.isoformat()
        return self._dumped_text(value)

    def _json_text(self, value: Any, dumps: Callable[[Any], str]) -> str:
        """Return a value of a stock JSONField as ``json.dumps`` writes it (``None``: NULL)."""
        if value is None:
            return NULL
        if hasattr(value, "as_sql"):
            raise Refused("An expression cannot be written by COPY.")
        try:
            text = dumps(value)
        except (TypeError, ValueError) as exc:
            raise Refused(f"{value!r} cannot be saved: {exc}") from exc
        message = _json_text_check(text)
        if message is not None:
            raise Refused(message)
        return escape(text)

    def _dumped_text(self, value: Any) -> str:
        """Return psycopg's own text of any other type, escaped for ``COPY``."""
        from psycopg.adapt import PyFormat

        text = bytes(self.dumpers.get_dumper(value, PyFormat.TEXT).dump(value)).decode()
        if self.is_json:
            message = _json_text_check(text)
            if message is not None:
                raise Refused(message)
        return escape(text)


class MaskCodec:
    """The update's mask column: a text of "0" and "1" that needs no escaping."""

    def __init__(self, column: str) -> None:
        self.attname = self.column = column

    @staticmethod
    def text(value: str) -> str:
        return value

    prepare = text

    @staticmethod
    def column_texts() -> Callable[[Sequence[str]], list[str]]:
        return list
