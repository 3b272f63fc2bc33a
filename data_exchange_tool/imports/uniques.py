"""
Uniqueness per batch: the serializer's unique validators answered with one query per batch.

DRF's ``UniqueValidator`` and ``UniqueTogetherValidator`` query the database once per row.
``batch_unique_validators`` puts a ``BatchUnique`` in the place of each of them on the run's
serializer, so a refusal comes exactly where and when DRF's would: beside the field's other
errors, before ``validate()``, with DRF's message and code. A batch goes through the serializer
once, or twice for a few rows:

1. every row is validated; a ``BatchUnique`` notes the key the row asks about and lets it pass;
2. ``settle`` finds, with one query per validator, the stored rows holding the noted keys; a row
   is refused when a stored row other than the one it updates (by the job type's natural key)
   holds its key, which is what DRF answers for a serializer given that stored row as instance;
3. the refused rows (few) are validated again, the validator now refusing them.

A row whose key no other stored row holds keeps the first answer: the validator would have let it
pass. What a batch query models exactly (``modelled``): a ``UniqueValidator`` (the class itself,
not a subclass) with the ``exact`` lookup, or ``iexact`` on a text column (the database compares
``UPPER()`` of both sides; a value with a non-ASCII character, whose upper case the database's
locale decides, asks DRF), and a ``UniqueTogetherValidator`` without ``condition`` and with
``nulls_distinct`` not False; either with a queryset of the target model that can be filtered
(any filters kept), and fields of the target itself (no dotted source). A value whose lookup
Django refuses to prepare, a column with a ``db_collation``, a NUL or a surrogate asks DRF too.
Everything else (conditional and expression constraints, other lookups, subclasses) is DRF's own
validator, called as it is for each row: exact, at one query per row.

``UniqueCheck`` then checks each modelled set against the file's earlier rows (``SeenKeys``: on
disk, not in memory); two rows of one file holding one key are the library's own rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist
from django.db import DataError, models
from django.db.models.functions import Upper
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.validators import UniqueTogetherValidator, UniqueValidator

from data_exchange_tool.imports.queries import Probing

if TYPE_CHECKING:
    from data_exchange_tool.imports.outcomes import RowOutcome
    from data_exchange_tool.imports.seen import KeyLedger

KeyValues = tuple[Any, ...]
#: ``{row number: pk of the stored row it updates}`` for the given rows (natural key), or {}.
UpdatedPks = Callable[[set[int]], dict[int, Any]]


class Batch:
    """The row the serializer validates, and whether validators now answer (step 3)."""

    def __init__(self) -> None:
        self.row = 0
        self.answering = False


def _text_column(field: Any) -> bool:
    return isinstance(field, models.CharField | models.TextField) and not field.db_collation


def _filterable(queryset: Any, model: type[models.Model]) -> bool:
    queryset = queryset.all()
    query = queryset.query
    return (
        queryset.model is model
        and not query.is_sliced
        and not query.combinator
        and not query.distinct_fields
    )


def _prep(field: Any, value: Any) -> Any:
    """Return ``value`` as an exact lookup on ``field`` sends it to the database."""
    if hasattr(value, "resolve_expression"):
        raise TypeError("an expression")
    if field.is_relation:
        if isinstance(value, models.Model):
            value = getattr(value, field.target_field.attname)
        return field.target_field.get_prep_value(value)
    return field.get_prep_value(value)


def _plain_text(value: Any) -> bool:
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


class BatchUnique:
    """Stand in for one of DRF's unique validators for a run; see the module docstring.

    :param sources: the model fields the validator checks (one for a ``UniqueValidator``).
    :param modelled: the batch query gives DRF's answer; else DRF's validator answers each row.
    :param natural: the set is the job type's natural key: a stored row holding a row's key is
        the row it updates, so the check never refuses (the set is not noted).
    """

    requires_context = True

    def __init__(
        self,
        validator: UniqueValidator | UniqueTogetherValidator,
        batch: Batch,
        sources: tuple[str, ...],
        model: type[models.Model],
        *,
        modelled: bool,
        natural: bool = False,
    ) -> None:
        self.validator: Any = validator
        self.batch = batch
        self.sources = sources
        self.together = isinstance(validator, UniqueTogetherValidator)
        self.modelled = modelled
        self.model = model
        self.upper = getattr(validator, "lookup", "exact") == "iexact"
        # Only an exact match finds the row the natural key updates.
        self.natural = natural and not self.upper
        self.queryset: Any = validator.queryset.all() if modelled else None
        self.fields: list[Any] = [model._meta.get_field(s) for s in sources] if modelled else []
        self.probing = Probing(model, sources)
        #: ``{row: key}`` of the batch's rows, as the batch query compares them.
        self.noted: dict[int, KeyValues] = {}
        #: ``{row: (value, context)}`` of the rows DRF's own validator refused (step 1).
        self.deferred: dict[int, tuple[Any, Any]] = {}
        #: ``{row: (message, code)}`` of the rows refused (step 3).
        self.refused: dict[int, tuple[str, str]] = {}
        #: Rows whose batch query failed: DRF's validator answers them (step 3).
        self.unanswered: set[int] = set()
        self.defer = False
        #: ``(serializer, sources)``: the sources DRF's ``enforce_required_fields`` requires in a
        #: row's data for that serializer, or None: the method runs for every row.
        self._required: tuple[Any, frozenset[str] | None] = (None, None)

    def _enforce_required_fields(self, value: Any, context: Any) -> None:
        """DRF's ``enforce_required_fields``, skipped when it would find nothing missing."""
        if self._required[0] is not context:
            self._required = (context, self._required_sources(context))
        required = self._required[1]
        if required is None or not required.issubset(value):
            self.validator.enforce_required_fields(value, context)

    def _required_sources(self, serializer: Any) -> frozenset[str] | None:
        """Return what ``enforce_required_fields`` looks for in the data (DRF 3.15 to 3.18:
        each field's source, condition fields included), or None when it is not DRF's own."""
        method = type(self.validator).enforce_required_fields
        if (
            method is not UniqueTogetherValidator.enforce_required_fields
            or "enforce_required_fields" in vars(self.validator)
        ):
            return None
        names = (*self.validator.fields, *getattr(self.validator, "condition_fields", ()))
        try:
            return frozenset(str(serializer.fields[name].source) for name in names)
        except Exception:  # DRF's own check meets the same error, row by row
            return None

    @property
    def message(self) -> str:
        if self.together:
            names = ", ".join(self.validator.fields)
            return str(self.validator.message).format(field_names=names)
        return str(self.validator.message)

    @property
    def code(self) -> str:
        return getattr(self.validator, "code", "unique") if self.together else "unique"

    def start(self, *, defer: bool) -> None:
        """Forget the last batch; ``defer``: DRF's refusals wait for ``settle`` (natural key)."""
        self.noted, self.deferred, self.refused, self.unanswered = {}, {}, {}, set()
        self.defer = defer
        self.batch.answering = False

    def __call__(self, value: Any, context: Any) -> None:
        if self.together:
            self._enforce_required_fields(value, context)
        if self.batch.answering:
            row = self.batch.row
            refusal = self.refused.get(row)
            if refusal is not None:
                raise ValidationError(refusal[0], code=refusal[1])
            if row in self.unanswered:
                return self.validator(value, context)
            if row in self.noted or row in self.deferred:
                return None
        if self.natural and self.modelled:  # the row updates the stored row holding its key
            return None
        key = self.key_of(value) if self.modelled else None
        if key is None:
            return self._ask_drf(value, context)
        if key:
            self.noted[self.batch.row] = key
        return None

    def key_of(self, value: Any) -> KeyValues | None:
        """Return the row's key, ``()`` when DRF checks nothing (a None), or None: ask DRF."""
        values = [value[s] for s in self.sources] if self.together else [value]
        if self.together and any(v is None for v in values):
            return ()
        try:
            key = tuple(_prep(f, v) for f, v in zip(self.fields, values, strict=True))
            hash(key)
        except Exception:  # DRF's own validator meets the same error
            return None
        if None in key or any(isinstance(v, str) and not _plain_text(v) for v in key):
            return None
        if self.upper:
            if not isinstance(key[0], str) or not key[0].isascii():
                return None
            return (key[0].upper(),)
        return key

    def _ask_drf(self, value: Any, context: Any) -> None:
        if not self.defer or self.batch.answering:
            self.validator(value, context)
            return
        try:
            self.validator(value, context)
        except ValidationError:
            self.deferred[self.batch.row] = (value, context)

    def settle(self, updated_pks: UpdatedPks) -> set[int]:
        """Decide which rows of the batch are refused; return their numbers (one query)."""
        refused: set[int] = set()
        if self.noted:
            try:
                holders = self._holders(set(self.noted.values()))
            except (TypeError, ValueError, DataError):  # each row asks DRF (step 3)
                refused.update(self.noted)
                self.unanswered.update(self.noted)
                self.noted = {}
                holders = {}
            held = {row: holders[key] for row, key in self.noted.items() if key in holders}
            updated = updated_pks(set(held)) if held else {}
            for row, pks in held.items():
                if pks - {updated.get(row)}:
                    self.refused[row] = (self.message, self.code)
                    refused.add(row)
        if self.deferred:
            refused.update(self._settle_deferred(updated_pks(set(self.deferred))))
        return refused

    def _holders(self, keys: set[KeyValues]) -> dict[KeyValues, set[Any]]:
        """Return ``{key: pks of the stored rows holding it}``."""
        queryset = self.queryset if self.queryset is not None else self.model._default_manager.all()
        if self.upper:
            name = self.sources[0]
            rows = (
                queryset.annotate(_dxt_key=Upper(name))
                .filter(_dxt_key__in=[k[0] for k in keys])
                .values_list("pk", "_dxt_key")
            )
            found: dict[KeyValues, set[Any]] = {}
            for pk, text in rows:
                found.setdefault((text,), set()).add(pk)
            return found
        attnames = [f.attname for f in self.fields]
        rows = self.probing.rows(self.probing.filter(queryset, keys).values_list("pk", *attnames))
        found = {}
        for pk, *values in rows:
            stored = tuple(_prep(f, v) for f, v in zip(self.fields, values, strict=True))
            found.setdefault(stored, set()).add(pk)
        return found

    def _settle_deferred(self, updated: dict[int, Any]) -> set[int]:
        """Ask DRF again for the refused rows that update a stored row, with it as instance."""
        refused: set[int] = set()
        for row, (value, context) in self.deferred.items():
            pk = updated.get(row)
            serializer = context if self.together else context.parent
            instance = None if pk is None else self.model._base_manager.filter(pk=pk).first()
            if instance is not None:
                serializer.instance = instance
                try:
                    self.validator(dict(value) if self.together else value, context)
                    continue
                except ValidationError:
                    pass
                finally:
                    serializer.instance = None
            self.refused[row] = (self.message, self.code)
            refused.add(row)
        return refused


def _modelled(validator: Any, model: type[models.Model], sources: tuple[str, ...]) -> bool:
    """Return True when the batch query answers exactly as ``validator`` would."""
    if not _filterable(validator.queryset, model) or any("." in s for s in sources):
        return False
    try:
        fields = [model._meta.get_field(s) for s in sources]
    except FieldDoesNotExist:  # not a field of the target: DRF's validator answers
        return False
    if any(getattr(f, "db_collation", None) or not f.concrete for f in fields):
        return False
    if type(validator) is UniqueValidator:
        return validator.lookup == "exact" or (
            validator.lookup == "iexact" and _text_column(fields[0])
        )
    return (
        type(validator) is UniqueTogetherValidator
        # DRF before 3.16 has no condition and no nulls_distinct: nothing to honour then.
        and getattr(validator, "condition", None) is None
        and not getattr(validator, "condition_fields", None)
        and getattr(validator, "nulls_distinct", None) is not False
    )


def batch_unique_validators(
    serializer: serializers.Serializer,
    model: type[models.Model],
    natural_key: tuple[str, ...],
    batch: Batch,
) -> list[BatchUnique]:
    """Put a ``BatchUnique`` in the place of each unique validator of ``serializer``."""
    found: list[BatchUnique] = []

    def stand_in(validator: Any, sources: tuple[str, ...]) -> BatchUnique:
        unique = BatchUnique(
            validator,
            batch,
            sources,
            model,
            modelled=_modelled(validator, model, sources),
            natural=bool(natural_key) and set(sources) == set(natural_key),
        )
        found.append(unique)
        return unique

    for serializer_field in serializer.fields.values():
        if any(isinstance(v, UniqueValidator) for v in serializer_field.validators):
            serializer_field.validators = [
                stand_in(v, (str(serializer_field.source),))
                if isinstance(v, UniqueValidator)
                else v
                for v in serializer_field.validators
            ]
    serializer.validators = [
        stand_in(v, tuple(serializer.fields[n].source for n in v.fields))
        if isinstance(v, UniqueTogetherValidator)
        else v
        for v in serializer.validators
    ]
    return found


class UniqueCheck:
    """Check a modelled unique set against the file's earlier rows."""

    def __init__(self, unique: BatchUnique, seen: KeyLedger, column: str) -> None:
        self.unique = unique
        self.seen = seen
        self.column = column
        self.namespace = "unique:" + ",".join(unique.sources) + (":iexact" if unique.upper else "")

    def check(self, outcomes: list[RowOutcome]) -> None:
        """Mark the valid rows whose key an earlier row of the file already claimed."""
        noted = self.unique.noted
        keyed = [(o, noted[o.row_number]) for o in outcomes if o.row_number in noted]
        # Only rows that will be written claim their key: an invalid row never makes a later
        # row (such as the key's owner restating it) a duplicate.
        keyed = [(o, k) for o, k in keyed if not o.errors]
        if not keyed:
            return
        earlier = self.seen.check_and_add(self.namespace, [(k, o.row_number) for o, k in keyed])
        for (outcome, _), first in zip(keyed, earlier, strict=True):
            if first is not None:
                outcome.fail(self.column, f"Duplicate of row {first}: {self.unique.message}")
