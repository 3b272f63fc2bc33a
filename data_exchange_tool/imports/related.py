"""
Related objects per batch: a related field's natural keys or pks resolved with one query.

DRF's ``SlugRelatedField`` and ``PrimaryKeyRelatedField`` query the database once per row (once
per item with ``many=True``). ``BatchRelated`` takes over such a field's ``to_internal_value``
for the run: before a batch is validated it loads every object the batch names with one query,
and the field then answers from that cache, failing with DRF's own messages and codes for texts
that name nothing, or that the look-up refuses as a value of the key's type (a text is looked up
as it is, as DRF's ``queryset.get()`` would), or more than one object (DRF lets the look-up's
``MultipleObjectsReturned`` through; here the cell is refused as ``invalid``). A field class that
overrides ``to_internal_value`` keeps it (DRF per row), and so is a text whose look-up Django
refuses otherwise (``ValidationError``) answered by DRF's own field.

A ``many=True`` field (DRF's ``ManyRelatedField``) and a ``ThroughManyField`` name several
objects in a cell: every item of every row of the batch is loaded with the same one query, and a
cell naming unknown objects fails with one message for each of them (DRF stops at the first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.relations import ManyRelatedField, PrimaryKeyRelatedField, SlugRelatedField

from data_exchange_tool.fields import ThroughManyField
from data_exchange_tool.imports.queries import filter_in

#: A text that named more than one object.
AMBIGUOUS = object()
#: A text that named no object when it was looked up (see ``BatchRelated.remember_missing``).
MISSING = object()
#: A text the look-up refuses as a value of the key's type (DRF's ``TypeError``/``ValueError``).
INCORRECT = object()
#: A text whose look-up fails otherwise: DRF's own ``to_internal_value`` answers it.
ASK = object()
#: A field taken over whose instance held no ``to_internal_value`` of its own.
UNSET = object()
#: Texts of one related field whose objects are kept between batches.
RELATED_CACHE_SIZE = 20_000


def _single_supported(serializer_field: serializers.Field) -> bool:
    """Return True for DRF's own slug and pk fields (``to_internal_value`` not overridden)."""
    if isinstance(serializer_field, SlugRelatedField):
        return "__" not in serializer_field.slug_field and _own(serializer_field, SlugRelatedField)
    return (
        isinstance(serializer_field, PrimaryKeyRelatedField)
        and serializer_field.pk_field is None
        and _own(serializer_field, PrimaryKeyRelatedField)
    )


def _own(serializer_field: serializers.Field, base: type[Any]) -> bool:
    return "to_internal_value" not in vars(serializer_field) and (
        type(serializer_field).to_internal_value is base.to_internal_value
    )


def _one_text(value: Any) -> Iterable[Any]:
    return (value,)


def _list_texts(value: Any) -> Iterable[Any]:
    return value if isinstance(value, list | tuple) else ()


class BatchRelated:
    """Resolve a DRF related field's natural keys or pks with one query per batch."""

    def __init__(
        self,
        name: str,
        serializer_field: serializers.Field,
        *,
        remember_missing: bool = True,
    ):
        self.name = name
        #: The texts a cell's value names: itself, the items of a list, a through cell's keys.
        self.texts_of: Callable[[Any], Iterable[Any]] = _one_text
        #: True when a cell lists several objects (its items are split from the cell's text).
        self.many = isinstance(serializer_field, ManyRelatedField | ThroughManyField)
        #: The fields whose ``to_internal_value`` this object answers, with what their instance
        #: held before (``close`` gives it back).
        self.taken_over: list[tuple[serializers.Field, Any]] = []
        if isinstance(serializer_field, ManyRelatedField):
            self.texts_of = _list_texts
            self.take_over(serializer_field, partial(self.many_to_internal_value, serializer_field))
            serializer_field = serializer_field.child_relation
        elif isinstance(serializer_field, ThroughManyField):
            self.texts_of = serializer_field.keys_of
            serializer_field = serializer_field.child_relation
        self.field: SlugRelatedField | PrimaryKeyRelatedField = serializer_field  # type: ignore[assignment]
        #: Keep texts that named nothing, so a file's misspelt partner is looked up once, not in
        #: every batch. Off when a ``before_import_row`` hook may create the objects on the way.
        self.remember_missing = remember_missing
        queryset: Any = self.field.get_queryset()
        self.attr = getattr(self.field, "slug_field", None) or "pk"
        model_field = (
            queryset.model._meta.pk
            if self.attr == "pk"
            else queryset.model._meta.get_field(self.attr)
        )
        self.model_field = model_field
        self.cache: dict[str, Any] = {}
        self.original = self.field.to_internal_value
        self.take_over(self.field, self.to_internal_value)

    def close(self) -> None:
        """Give the fields back their own ``to_internal_value`` and forget the cached objects.

        A field taken over refers to this object, which refers to the field: a cycle, so every
        object the run named (each partner and product of the file) would wait for a full
        collection, which a worker running task after task may put off for long (see
        ``pipeline._freeze_old_objects``). Broken here, they go when the run ends.
        """
        self.cache = {}
        for serializer_field, before in reversed(self.taken_over):
            if before is UNSET:
                del serializer_field.to_internal_value
            else:
                serializer_field.to_internal_value = before
        self.taken_over = []

    def take_over(self, serializer_field: serializers.Field, method: Callable[..., Any]) -> None:
        """Answer the field's ``to_internal_value`` with ``method`` until ``close``."""
        before = vars(serializer_field).get("to_internal_value", UNSET)
        self.taken_over.append((serializer_field, before))
        serializer_field.to_internal_value = method  # type: ignore[method-assign]

    @classmethod
    def supports(cls, serializer_field: serializers.Field) -> bool:
        """Return True for related fields (single or many) this class can resolve in batches."""
        if isinstance(serializer_field, ManyRelatedField | ThroughManyField):
            return _single_supported(serializer_field.child_relation)
        return _single_supported(serializer_field)

    def prefetch_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """Load, with one query, the objects the cells of a batch's rows name."""
        name, texts_of = self.name, self.texts_of
        if texts_of is _one_text:  # a cell names one object: its value is the text
            texts: set[Any] = {data.get(name) for data in rows}
        else:
            texts = set()
            for data in rows:
                value = data.get(name)
                if value is not None and value != "":
                    texts.update(texts_of(value))
        texts.discard("")
        texts.discard(None)
        self.prefetch(texts)

    def prefetch(self, texts: set[str]) -> None:
        """Load the objects named by ``texts`` and not cached yet, with one query.

        Objects found stay cached for later batches (a file names the same partners and products
        again and again), and so do texts that named nothing when ``remember_missing``, up to
        ``RELATED_CACHE_SIZE`` texts; past it the cache starts afresh.
        """
        cache = self.cache
        # Membership tests, not ``texts - cache.keys()``, which walks the whole cache.
        missing = {text for text in texts if text not in cache}
        if len(cache) + len(missing) > RELATED_CACHE_SIZE:
            self.cache, missing = {}, set(texts)
        by_value: dict[Any, list[str]] = {}
        for text in missing:
            value = self.lookup_value(text)
            if value is INCORRECT or value is ASK:
                self.cache[text] = value
            else:
                by_value.setdefault(value, []).append(text)
        if by_value:
            for obj in filter_in(self.field.get_queryset(), {self.attr: by_value.keys()}):  # type: ignore[arg-type]
                for text in by_value.get(getattr(obj, self.attr), ()):
                    self.cache[text] = AMBIGUOUS if text in self.cache else obj
        if self.remember_missing:
            for text in missing:
                if text not in self.cache:
                    self.cache[text] = MISSING

    def lookup_value(self, text: str) -> Any:
        """Return ``text`` as DRF's ``queryset.get(field=text)`` sends it to the database, or
        ``INCORRECT`` (DRF refuses its type) or ``ASK`` (DRF's field answers)."""
        try:
            value = self.model_field.get_prep_value(text)
            hash(value)
        except (TypeError, ValueError):
            return INCORRECT
        except DjangoValidationError:
            return ASK
        if value is None or (isinstance(value, str) and "\x00" in value):
            return ASK
        return value

    def to_internal_value(self, data: Any) -> Any:
        """Return the object for a cell, failing as DRF's own field would."""
        try:
            obj = self.cache.get(data)
        except TypeError:  # not a text: DRF's field answers
            obj = ASK
        if obj is ASK:
            return self.original(data)
        if obj is INCORRECT:
            if self.attr == "pk":
                self.field.fail("incorrect_type", data_type=type(data).__name__)
            self.field.fail("invalid")
        if obj is AMBIGUOUS:
            self.field.fail("invalid")
        if obj is None or obj is MISSING:
            if self.attr == "pk":
                self.field.fail("does_not_exist", pk_value=data)
            self.field.fail("does_not_exist", slug_name=self.attr, value=str(data))
        return obj

    def many_to_internal_value(self, many_field: ManyRelatedField, data: Any) -> list[Any]:
        """Return the objects a list names, in order and once each; fail naming every unknown."""
        if isinstance(data, str) or not hasattr(data, "__iter__"):
            many_field.fail("not_a_list", input_type=type(data).__name__)
        if not many_field.allow_empty and len(data) == 0:
            many_field.fail("empty")
        found: dict[Any, Any] = {}
        errors: list[Any] = []
        for item in dict.fromkeys(data):
            try:
                obj = self.to_internal_value(item)
            except serializers.ValidationError as exc:
                errors.extend(exc.detail)
                continue
            found.setdefault(obj.pk, obj)
        if errors:
            raise serializers.ValidationError(errors)
        return list(found.values())
