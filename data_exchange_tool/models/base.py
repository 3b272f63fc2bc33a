"""
The metaclass that lets a job type declare its target in ``Meta``.

Django refuses unknown ``Meta`` attributes, so ``JobModelBase`` takes the job options
(``target_model``, ``serializer_class``, ...) out of ``Meta`` before Django reads it and sets them
as class attributes. Declaring them as class attributes works the same way::

    class StockRecordImportJob(ImportJob):
        class Meta:
            proxy = True
            target_model = StockRecord
            serializer_class = "shop.serializers.ImportStockRecordSerializer"
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models
from django.db.models.base import ModelBase
from django.utils.module_loading import import_string

from data_exchange_tool.exceptions import ConfigurationError


class JobModelBase(ModelBase):
    """Move the names listed in ``job_options`` from ``Meta`` to class attributes."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any], **kwargs: Any):
        option_names: tuple[str, ...] = attrs.get("job_options") or next(
            (getattr(base, "job_options", ()) for base in bases if hasattr(base, "job_options")),
            (),
        )
        meta = attrs.get("Meta")
        if meta is not None:
            for option in option_names:
                if option in meta.__dict__:
                    attrs[option] = meta.__dict__[option]
                    delattr(meta, option)
            if getattr(meta, "proxy", False):
                words = attrs.get("job_permissions") or next(
                    (base.job_permissions for base in bases if hasattr(base, "job_permissions")),
                    ("confirm", "view_all"),
                )
                meta.permissions = _job_type_permissions(name, meta, words)
        return super().__new__(mcs, name, bases, attrs, **kwargs)


#: The permissions a job type may add (``job_permissions``), with their descriptions.
PERMISSION_TEXTS = {"confirm": "Can confirm {label}", "view_all": "Can view every user's {label}"}


def _job_type_permissions(
    name: str, meta: type, words: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """Return a job type's own permissions (``confirm``, ``view_all``) named in ``words``."""
    label = str(getattr(meta, "verbose_name", name))
    extra = tuple(
        (f"{word}_{name.lower()}", PERMISSION_TEXTS[word].format(label=label)) for word in words
    )
    declared = tuple(getattr(meta, "permissions", ()))
    return declared + tuple(p for p in extra if p[0] not in {d[0] for d in declared})


def resolve_model(value: Any, owner: type) -> type[models.Model]:
    """Return the model named by ``value``: a model class or ``"app_label.ModelName"``."""
    if isinstance(value, str):
        try:
            return apps.get_model(value)
        except (LookupError, ValueError) as exc:
            raise ConfigurationError(
                f"{owner.__name__}.target_model {value!r} is not an installed model."
            ) from exc
    if isinstance(value, type) and issubclass(value, models.Model):
        return value
    raise ConfigurationError(
        f"{owner.__name__} needs Meta.target_model: the model the job writes to "
        f"(a model class or 'app_label.ModelName')."
    )


def resolve_class(value: Any, owner: type, option: str) -> type:
    """Return the class named by ``value``: a class or a dotted path."""
    if isinstance(value, str):
        try:
            return import_string(value)
        except ImportError as exc:
            raise ConfigurationError(
                f"{owner.__name__}.{option} {value!r} cannot be imported: {exc}"
            ) from exc
    if isinstance(value, type):
        return value
    raise ConfigurationError(
        f"{owner.__name__} needs Meta.{option} (a class or a dotted path), "
        f"or override get_{option}()."
    )
