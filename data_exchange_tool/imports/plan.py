"""
A row serializer's validation with DRF's per-call bookkeeping done once per run.

``serializer.run_validation(row)`` spends much of its time on work that gives the same answer for
every row of a file: which fields are writable, whether the data is an HTML form, which validators
a field has and whether they need context, whether a ``validate_<field>`` method exists.
``ValidationPlan`` answers those questions once and then runs, for each row, the calls that do
depend on the row: each field's ``to_internal_value``, its validators, ``validate_<field>``, the
serializer's validators and ``validate()``, each value placed by the serializer's ``set_value``
when it overrides it. The result and the errors are the ones
``run_validation`` gives (``tests/imports/test_plan.py`` compares them on many inputs).

A validator of a kind whose test is known exactly (``passes``: Django's value and length limits,
the NUL and surrogate checks DRF gives every ``CharField``) is first asked that test inline; only a
value that fails it, or one the test cannot judge, is handed to the validator itself, whose error
is then the one DRF would give. A plain ``IntegerField`` reads a cell of ASCII digits with
``int()``, and a plain ``DecimalField`` a cell of digits within its limits with ``Decimal``
(``PlainDecimal``): each gives what the field's ``to_internal_value`` gives for such text; any
other text goes to the field.

A batch of rows (``validate_batch``) is read column by column where every field allows it: each
field's cells of the whole batch are read in one pass (``FieldStep.column``) and the inline tests
are asked of the whole column at once (``column_passes``: the largest value, the longest text,
one joined text for the NUL and surrogate checks); a cell the fast reading does not take, or a
column a test does not pass, goes cell by cell through the same steps as one row. Each row's
values then become its dict in one call, and the serializer's validators and ``validate()`` run
row by row, in the file's order, as ``run_validation`` runs them. A field with a
``validate_<field>`` method, a validator with no inline test (it may need to know the row: the
batch unique checks do) or any step of its own keeps the whole batch row by row.

Only DRF's own steps are shortened. A serializer that overrides ``run_validation``,
``to_internal_value`` or ``run_validators`` is called as it is, row by row; so is a field that
overrides ``get_value``, ``validate_empty_values``, ``run_validation`` or ``run_validators``
(beyond DRF's own ``CharField``, ``RelatedField`` and ``DecimalField`` variants, whose extra step
only concerns blank cells). A blank or missing cell always goes through the field's own
``run_validation``.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable
from typing import Any

from django.core import validators as django_validators
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import fields as drf_fields
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import SkipField, empty, get_error_detail
from rest_framework.relations import RelatedField
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from data_exchange_tool.utils import detached

#: ``run_validation`` implementations whose only addition to ``Field``'s concerns blank data.
_PLAIN_RUN_VALIDATION: set[Callable[..., Any]] = {
    drf_fields.Field.run_validation,
    drf_fields.CharField.run_validation,
    RelatedField.run_validation,
}
#: ``validate_empty_values`` implementations that leave a non-blank text to ``Field``'s.
_PLAIN_EMPTY_VALUES: set[Callable[..., Any]] = {
    drf_fields.Field.validate_empty_values,
    drf_fields.DecimalField.validate_empty_values,
}


#: A UTF-16 surrogate, the character ``ProhibitSurrogateCharactersValidator`` refuses.
_SURROGATE = re.compile("[\ud800-\udfff]")
#: ``BaseValidator`` kinds and the test under which each passes a value: ``compare`` is False.
_LIMITS: dict[type, Callable[[Any, Any], bool]] = {
    django_validators.MaxValueValidator: lambda value, limit: not value > limit,
    django_validators.MinValueValidator: lambda value, limit: not value < limit,
    django_validators.MaxLengthValidator: lambda value, limit: not len(value) > limit,
    django_validators.MinLengthValidator: lambda value, limit: not len(value) < limit,
}


def passes(validator: Any) -> Callable[[Any], bool] | None:
    """Return a test that is True only for values ``validator`` certainly lets pass, or None.

    Only validators of exactly a kind whose ``__call__`` is known (no subclass: it may change
    ``clean`` or ``compare``) and whose limit is fixed get one. False means "ask the validator":
    it raises its own error (or, for a value the test cannot judge, gives its own answer).
    """
    kind = type(validator)
    if (
        kind in _LIMITS
        and not callable(validator.limit_value)
        and not vars(validator).keys()
        & {
            "clean",
            "compare",
            "__call__",
        }
    ):
        limit, compare = validator.limit_value, _LIMITS[kind]
        return lambda value: compare(value, limit)
    if kind is django_validators.ProhibitNullCharactersValidator:
        return lambda value: value.__class__ is str and "\x00" not in value
    if kind is ProhibitSurrogateCharactersValidator:
        search = _SURROGATE.search
        return lambda value: value.__class__ is str and (value.isascii() or not search(value))
    return None


def _all_of(kind: type) -> Callable[[set[type]], bool]:
    return lambda kinds: kinds <= {kind}


#: ``BaseValidator`` kinds: what of a column is compared with the limit (the largest value, the
#: shortest text...), the test of that one figure, and the types of values for which that one
#: comparison answers for every value (a total order: no NaN, no mixed types).
_COLUMN_LIMITS: dict[
    type,
    tuple[Callable[[list[Any]], Any], Callable[[Any, Any], bool], Callable[[set[type]], bool]],
] = {
    django_validators.MaxValueValidator: (max, lambda top, limit: not top > limit, _all_of(int)),
    django_validators.MinValueValidator: (min, lambda low, limit: not low < limit, _all_of(int)),
    django_validators.MaxLengthValidator: (
        lambda values: max(map(len, values)),
        lambda longest, limit: not longest > limit,
        _all_of(str),
    ),
    django_validators.MinLengthValidator: (
        lambda values: min(map(len, values)),
        lambda shortest, limit: not shortest < limit,
        _all_of(str),
    ),
}


def column_passes(validator: Any) -> Callable[[list[Any], set[type]], bool] | None:
    """Return a test of a whole column (its values and their types) that is True only when
    ``passes(validator)`` is True for every value, or None when ``passes`` gives no test.

    False means "ask each value": the column's values go through ``passes`` one by one.
    """
    if passes(validator) is None:
        return None
    kind = type(validator)
    if kind in _COLUMN_LIMITS:
        pick, compare, typed = _COLUMN_LIMITS[kind]
        limit = validator.limit_value
        return lambda values, kinds: not values or (typed(kinds) and compare(pick(values), limit))
    if kind is django_validators.ProhibitNullCharactersValidator:
        return lambda values, kinds: kinds <= {str} and "\x00" not in "".join(values)
    search = _SURROGATE.search
    # ProhibitSurrogateCharactersValidator: a surrogate is one character, never made by a join.
    return lambda values, kinds: (
        kinds <= {str} and ((joined := "".join(values)).isascii() or not search(joined))
    )


#: What ``FieldStep.column`` holds for a cell the fast reading leaves to the field, for a row
#: whose value failed (its error is recorded) and for a field ``SkipField`` leaves out.
_SLOW, _FAILED, _SKIPPED = object(), object(), object()


def _plain_integer(field: drf_fields.Field) -> bool:
    """Return True for an ``IntegerField`` whose reading of text is DRF's own."""
    return (
        type(field) is drf_fields.IntegerField
        and _same(field, "to_internal_value", drf_fields.IntegerField)
        and field.MAX_STRING_LENGTH == drf_fields.IntegerField.MAX_STRING_LENGTH
        and getattr(field, "re_decimal", None) is drf_fields.IntegerField.re_decimal
    )


class PlainDecimal:
    """A plain ``DecimalField``'s reading of a cell written as digits its limits allow.

    ``-123.45`` with no more whole digits than ``max_digits - decimal_places`` and no more
    decimals than ``decimal_places`` passes DRF's ``validate_precision`` (the digits it counts are
    at most the ones written) and ``quantize`` only pads it with zeros: ``read`` gives the same
    ``Decimal``. Any other text (a sign ``+``, spaces, an exponent, too many digits) is None: the
    field reads it.
    """

    def __init__(self, field: drf_fields.DecimalField) -> None:
        places: int = field.decimal_places  # type: ignore[assignment]
        whole = field.max_digits - places  # type: ignore[operator]
        decimals = rf"(?:\.[0-9]{{1,{places}}})?" if places else ""
        self.pattern = re.compile(rf"-?[0-9]{{1,{whole}}}{decimals}")
        self.exponent = decimal.Decimal(1).scaleb(-places)
        self.context = decimal.Context(prec=field.max_digits)

    @staticmethod
    def applies(field: drf_fields.Field) -> bool:
        """Return True for a ``DecimalField`` whose reading of text is DRF's own."""
        return (
            type(field) is drf_fields.DecimalField
            and all(
                _same(field, name, drf_fields.DecimalField)
                for name in ("to_internal_value", "validate_precision", "quantize")
            )
            and not field.localize
            and field.max_digits is not None
            and field.decimal_places is not None
            and field.max_digits > field.decimal_places
            and field.max_digits - field.decimal_places == field.max_whole_digits
            and field.max_digits + 2 <= field.MAX_STRING_LENGTH
        )

    def read(self, text: str) -> decimal.Decimal | None:
        if self.pattern.fullmatch(text) is None:
            return None
        return decimal.Decimal(text).quantize(self.exponent, context=self.context)


def _same(obj: Any, name: str, base: type) -> bool:
    """Return True when ``obj`` uses ``base``'s ``name``, neither overridden nor patched."""
    return name not in vars(obj) and getattr(type(obj), name) is getattr(base, name)


def _one_of(obj: Any, name: str, implementations: set[Callable]) -> bool:
    return name not in vars(obj) and getattr(type(obj), name) in implementations


class FieldStep:
    """What one writable field does with a row."""

    __slots__ = (
        "char",
        "column_tests",
        "columnar",
        "decimal",
        "digits",
        "field",
        "get_value",
        "name",
        "plain",
        "run_validation",
        "source",
        "source_attrs",
        "tests",
        "to_internal_value",
        "validate_method",
        "validators",
    )

    def __init__(self, serializer: serializers.Serializer, field: drf_fields.Field) -> None:
        self.field = field
        self.name: str = field.field_name  # type: ignore[assignment]  # set by bind()
        self.source_attrs = field.source_attrs
        self.source = field.source_attrs[0] if len(field.source_attrs) == 1 else None
        self.get_value = None if _same(field, "get_value", drf_fields.Field) else field.get_value
        self.plain = (
            _one_of(field, "run_validation", _PLAIN_RUN_VALIDATION)
            and _one_of(field, "validate_empty_values", _PLAIN_EMPTY_VALUES)
            and _same(field, "run_validators", drf_fields.Field)
            and not getattr(serializer, "partial", False)
        )
        self.to_internal_value = field.to_internal_value
        self.run_validation = field.run_validation
        self.validators: list[tuple[Callable[..., Any], bool]] = [
            (validator, bool(getattr(validator, "requires_context", False)))
            for validator in field.validators
        ]
        tests = [passes(validator) for validator, _ in self.validators]
        #: Every validator's inline test (``passes``), or None: the validators are always called.
        self.tests: list[Callable[[Any], bool]] | None = (
            tests if self.validators and None not in tests else None  # type: ignore[assignment]
        )
        #: The longest text of digits read with ``int()``, or 0 (see the module docstring).
        self.digits: int = field.MAX_STRING_LENGTH if _plain_integer(field) else 0  # type: ignore[attr-defined]
        self.decimal = PlainDecimal(field) if PlainDecimal.applies(field) else None  # type: ignore[arg-type]
        self.validate_method = getattr(serializer, "validate_" + field.field_name, None)  # type: ignore[operator]
        #: A ``CharField`` whose reading of text is DRF's own: the text, stripped or not.
        self.char: bool | None = (
            field.trim_whitespace
            if type(field) is drf_fields.CharField
            and _same(field, "to_internal_value", drf_fields.CharField)
            else None
        )
        self.column_tests = (
            [column_passes(validator) for validator, _ in self.validators] if self.tests else []
        )
        #: Whether a batch's cells of this field may be read as one column (``column``).
        self.columnar = (
            self.plain
            and self.source is not None
            and self.get_value is None
            and self.validate_method is None
            and (not self.validators or self.tests is not None)
        )

    def validate(self, data: dict[str, Any]) -> Any:
        """Return the field's internal value for a row, as ``field.run_validation`` would."""
        primitive = data.get(self.name, empty) if self.get_value is None else self.get_value(data)
        # ``not text.strip()``, without the copy: ``strip`` and ``isspace`` agree on whitespace.
        if not self.plain or primitive.__class__ is not str or not primitive or primitive.isspace():
            return self.run_validation(primitive)
        if (
            self.digits
            and primitive.isdigit()
            and primitive.isascii()
            and len(primitive) <= self.digits
        ):
            value: Any = int(primitive)
        elif self.decimal is None or (value := self.decimal.read(primitive)) is None:
            value = self.to_internal_value(primitive)
        if self.validators:
            tests = self.tests
            if tests is None or not _all_pass(tests, value):
                self.run_validators(value)
        return value

    def run_validators(self, value: Any) -> None:
        """Run the field's validators, gathering their errors as ``Field.run_validators``."""
        run_validators(self.validators, value, self.field)

    def column(
        self,
        datas: list[dict[str, Any]],
        errors: list[dict[str, Any] | None],
        skipped: set[int],
    ) -> list[Any]:
        """Return the field's value for each row of a batch, as ``validate`` gives it, or
        ``_FAILED`` (the error is put in ``errors``, the row's) or ``_SKIPPED`` (``SkipField``:
        the row's index is put in ``skipped``)."""
        name = self.name
        cells = [data.get(name, empty) for data in datas]
        raised: dict[int, Exception] = {}
        values = self._read(cells, raised)
        slow = [i for i, value in enumerate(values) if value is _SLOW]
        for i in slow:
            exc = raised.get(i)
            values[i] = (
                self._one(datas[i], i, errors) if exc is None else self._failed(exc, i, errors)
            )
            if values[i] is _SKIPPED:
                skipped.add(i)
        if self.validators:
            self._check(values, set(slow), errors)
        return values

    def _read(self, cells: list[Any], raised: dict[int, Exception]) -> list[Any]:
        """Return each cell's value as ``validate``'s fast reading gives it, or ``_SLOW``.

        A cell whose ``to_internal_value`` raised is ``_SLOW`` with its exception in ``raised``
        (by the cell's index): the field is not asked the same cell twice, as ``run_validation``
        asks it once (a field may look the text up in the database, or note it).
        """
        if self.digits:
            digits = self.digits
            return [
                int(t)
                if t.__class__ is str and t.isdigit() and t.isascii() and len(t) <= digits
                else _SLOW
                for t in cells
            ]
        if self.decimal is not None:
            read = self.decimal.read
            return [
                _SLOW if t.__class__ is not str or (value := read(t)) is None else value
                for t in cells
            ]
        if self.char is not None:
            strip = self.char
            return [
                (t.strip() if strip else t)
                if t.__class__ is str and t and not t.isspace()
                else _SLOW
                for t in cells
            ]
        to_internal_value, values = self.to_internal_value, []
        for i, t in enumerate(cells):
            if t.__class__ is str and t and not t.isspace():
                try:
                    values.append(to_internal_value(t))
                    continue
                except (ValidationError, DjangoValidationError, SkipField) as exc:
                    # What ``validate`` would raise for the cell, without its traceback: kept,
                    # that would hold this frame and its callers' (the batch) in a cycle.
                    raised[i] = detached(exc)
            values.append(_SLOW)
        return values

    def _one(self, data: dict[str, Any], i: int, errors: list[dict[str, Any] | None]) -> Any:
        """Return one row's value through ``validate``, or ``_FAILED`` / ``_SKIPPED``."""
        try:
            return self.validate(data)
        except (ValidationError, DjangoValidationError, SkipField) as exc:
            return self._failed(detached(exc), i, errors)

    def _failed(self, exc: Exception, i: int, errors: list[dict[str, Any] | None]) -> Any:
        """Record what the field raised for the i-th row: ``_FAILED`` or ``_SKIPPED``."""
        detail: Any
        if isinstance(exc, ValidationError):
            detail = exc.detail
        elif isinstance(exc, DjangoValidationError):
            detail = get_error_detail(exc)
        else:  # SkipField
            return _SKIPPED
        row_errors = errors[i]
        if row_errors is None:
            row_errors = errors[i] = {}
        row_errors[self.name] = detail
        return _FAILED

    def _check(
        self, values: list[Any], slow: set[int], errors: list[dict[str, Any] | None]
    ) -> None:
        """Run the validators on the values read fast (``validate`` ran them on the others)."""
        read = [value for i, value in enumerate(values) if i not in slow] if slow else values
        kinds = set(map(type, read))
        try:
            if all(test is not None and test(read, kinds) for test in self.column_tests):
                return
        except Exception:  # noqa: S110  # asked value by value below
            pass
        tests = self.tests
        for i, value in enumerate(values):
            if i in slow or (tests is not None and _all_pass(tests, value)):
                continue
            try:
                self.run_validators(value)
            except ValidationError as exc:
                detached(exc)
                row_errors = errors[i]
                if row_errors is None:
                    row_errors = errors[i] = {}
                row_errors[self.name] = exc.detail
                values[i] = _FAILED


def _all_pass(tests: list[Callable[[Any], bool]], value: Any) -> bool:
    """Return True when every test passes ``value``; False when one fails or cannot judge it."""
    try:
        for test in tests:
            if not test(value):
                return False
    except Exception:  # the validators themselves meet the value and answer
        return False
    return True


def run_validators(validators: list[tuple[Any, bool]], value: Any, context: Any) -> None:
    """Run ``(validator, requires_context)`` pairs, gathering their errors as DRF's
    ``Field.run_validators`` does."""
    errors: list[Any] = []
    for validator, requires_context in validators:
        try:
            if requires_context:
                validator(value, context)
            else:
                validator(value)
        except ValidationError as exc:
            if isinstance(exc.detail, dict):
                raise
            errors.extend(detached(exc).detail)
        except DjangoValidationError as exc:
            errors.extend(get_error_detail(detached(exc)))
    if errors:
        raise ValidationError(errors)


def _answer(
    validate: Callable[[dict[str, Any]], dict[str, Any]], data: dict[str, Any]
) -> tuple[dict[str, Any] | None, Any]:
    """Return ``(validate(data), None)``, or ``(None, the error's detail)``."""
    try:
        return validate(data), None
    except ValidationError as exc:
        return None, detached(exc).detail


class ValidationPlan:
    """Validate rows (dicts of cell texts) through one serializer; see the module docstring.

    Build it after the serializer's fields and validators are as they will stay for the run:
    it takes a snapshot of them.
    """

    def __init__(self, serializer: serializers.Serializer) -> None:
        self.serializer = serializer
        self.fast = (
            _same(serializer, "run_validation", serializers.Serializer)
            and _same(serializer, "to_internal_value", serializers.Serializer)
            and _same(serializer, "run_validators", serializers.Serializer)
            and _same(serializer, "validate_empty_values", drf_fields.Field)
        )
        self.steps = [
            FieldStep(serializer, field)
            for field in serializer.fields.values()
            if not field.read_only
        ]
        has_defaults = any(
            field.read_only and field.default is not empty for field in serializer.fields.values()
        )
        self.validators = [
            (validator, bool(getattr(validator, "requires_context", False)))
            for validator in serializer.validators
        ]
        self.run_validators: Callable[[Any], None] | None = None
        if has_defaults:  # DRF adds the read-only fields' defaults to what validators see
            self.run_validators = serializer.run_validators
        elif self.validators:
            self.run_validators = self.run_serializer_validators
        self.validate_hook = (
            None if _same(serializer, "validate", serializers.Serializer) else serializer.validate
        )
        #: An overridden ``set_value`` (public since DRF 3.15) places every field's value.
        self.set_value: Callable[[dict[str, Any], list[str], Any], None] | None = (
            None if _same(serializer, "set_value", serializers.Serializer) else serializer.set_value
        )

        #: Whether a batch is read column by column (``validate_batch``).
        self.columnar = (
            self.fast
            and self.set_value is None
            and bool(self.steps)
            and all(step.columnar for step in self.steps)
        )

    def validate_batch(
        self, datas: list[dict[str, Any]], before_row: Callable[[int], None]
    ) -> list[tuple[dict[str, Any] | None, Any]]:
        """Return ``(validated data, None)`` or ``(None, error detail)`` for each row, as
        ``run_validation`` gives them; ``before_row(i)`` is called before the i-th row's
        validators run (before the row, when it is validated row by row)."""
        results: list[tuple[dict[str, Any] | None, Any]] = []
        if not self.columnar:
            for i, data in enumerate(datas):
                before_row(i)
                results.append(_answer(self.run_validation, data))
            return results
        errors: list[dict[str, Any] | None] = [None] * len(datas)
        skipped: set[int] = set()
        columns = [step.column(datas, errors, skipped) for step in self.steps]
        sources: list[str] = [step.source for step in self.steps]  # type: ignore[misc]  # columnar
        for i, (values, row_errors) in enumerate(
            zip(zip(*columns, strict=True), errors, strict=True)
        ):
            if row_errors is not None:
                results.append((None, ValidationError(row_errors).detail))
                continue
            if i in skipped:
                value = {s: v for s, v in zip(sources, values, strict=True) if v is not _SKIPPED}
            else:
                value = dict(zip(sources, values, strict=True))
            before_row(i)
            results.append(_answer(self.finish, value))
        return results

    def run_validation(self, data: dict[str, Any]) -> dict[str, Any]:
        """Return the validated data of one row or raise DRF's ``ValidationError``."""
        if not self.fast:
            return self.serializer.run_validation(data)
        return self.finish(self.to_internal_value(data))

    def finish(self, value: dict[str, Any]) -> dict[str, Any]:
        """Run the serializer's validators and ``validate()`` on a row's field values."""
        try:
            if self.run_validators is not None:
                self.run_validators(value)
            if self.validate_hook is not None:
                value = self.validate_hook(value)
                if value is None:  # DRF asserts the same
                    raise AssertionError(".validate() should return the validated data")
        except (ValidationError, DjangoValidationError) as exc:
            detail = serializers.as_serializer_error(detached(exc))
            raise ValidationError(detail=detail) from None
        return value

    def run_serializer_validators(self, value: dict[str, Any]) -> None:
        """``Serializer.run_validators`` without read-only defaults: validators see a copy."""
        to_validate = dict(value) if isinstance(value, dict) else value
        run_validators(self.validators, to_validate, self.serializer)

    def to_internal_value(self, data: dict[str, Any]) -> dict[str, Any]:
        """Return each field's internal value, or raise the fields' errors together."""
        result: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        set_value = self.set_value
        for step in self.steps:
            try:
                value = step.validate(data)
                if step.validate_method is not None:
                    value = step.validate_method(value)
            except ValidationError as exc:
                errors[step.name] = detached(exc).detail
            except DjangoValidationError as exc:
                errors[step.name] = get_error_detail(detached(exc))
            except SkipField:
                pass
            else:
                if set_value is not None:
                    set_value(result, step.source_attrs, value)
                elif step.source is not None:
                    result[step.source] = value
                else:
                    self.serializer.set_value(result, step.source_attrs, value)
        if errors:
            raise ValidationError(errors)
        return result
