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

from typing import Any, ClassVar

import django_fsm as fsm
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.base import ModelBase
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from data_exchange_tool import messages
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


class MessageField(models.TextField):
    """Text a person reads, kept bounded and clean (``data_exchange_tool.messages.clean``).

    Every value is cleaned on its way to the database (``save()``, ``bulk_create``, ``update()``)
    and on its way back (rows stored before the rule existed), so no message escapes it.
    """

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return value if value is None else messages.clean(value)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return value if value is None else messages.clean(value)


class JobQuerySet(models.QuerySet):
    """Queries common to every kind of job."""

    def for_target(self, model: type[models.Model]) -> JobQuerySet:
        """Return the jobs of every type whose target is ``model``."""
        return self.filter(content_type=ContentType.objects.get_for_model(model))


class JobManager(models.Manager):
    """On a job type, see only the jobs of that type; on the concrete model, see every job."""

    def get_queryset(self) -> models.QuerySet:
        queryset = super().get_queryset()
        if self.model._meta.proxy:
            queryset = queryset.filter(job_type=self.model._meta.label_lower)
        return queryset


class BaseJob(fsm.ConcurrentTransitionMixin, models.Model, metaclass=JobModelBase):
    """
    What every tracked job shares: its type and target, who and when, progress and a message.

    A concrete subclass (``ImportJob``, ``ExportJob``) adds its states and files; job types are
    proxies of it. Rows load as their job type (``from_db``), so the concrete model's manager
    returns proxies.
    """

    #: The model the job type works on: a model class or ``"app_label.ModelName"``.
    target_model: ClassVar[Any] = None
    _is_job_model: ClassVar[bool] = True

    job_type = models.CharField(_("job type"), max_length=200, db_index=True, editable=False)
    content_type = models.ForeignKey(
        ContentType,
        on_delete=models.PROTECT,
        editable=False,
        related_name="+",
        verbose_name=_("target"),
    )
    options = models.JSONField(_("options"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(
        _("attempts"),
        default=0,
        editable=False,
        help_text=_(
            "Times the running preview, import or export has started: a task whose worker "
            "died starts again, up to DATA_EXCHANGE_MAX_ATTEMPTS times."
        ),
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    progress_done = models.PositiveIntegerField(_("rows done"), default=0)
    progress_total = models.PositiveIntegerField(_("rows to do"), default=0)
    message = MessageField(_("message"), blank=True)

    class Meta:
        abstract = True

    @classmethod
    def from_db(
        cls, db: str | None, field_names: Any, values: Any, *, fetch_mode: Any = None
    ) -> BaseJob:
        """Load a row as its job type, so ``ImportJob.objects.get()`` returns the proxy.

        Django 6.1 passes ``fetch_mode`` (and warns about an override without it); 5.2 has none,
        so it is passed on only when given."""
        if not cls._meta.proxy and "job_type" in field_names:
            from data_exchange_tool.registry import get_job_type

            job_type = get_job_type(values[list(field_names).index("job_type")])
            if job_type is not None and issubclass(job_type, cls):
                cls = job_type
        extra = {} if fetch_mode is None else {"fetch_mode": fetch_mode}
        return super().from_db(db, field_names, values, **extra)

    @classmethod
    def get_target_model(cls) -> type[models.Model]:
        """Return the model this job type works on."""
        return resolve_model(cls.target_model, cls)

    @classmethod
    def permission_codename(cls, action: str) -> str:
        """Return ``"app_label.<action>_<model>"`` of this job type (e.g. ``confirm``)."""
        return f"{cls._meta.app_label}.{action}_{cls._meta.model_name}"

    def _fill_job_type(self) -> None:
        if self.job_type:
            return
        if not self._meta.proxy:
            raise ConfigurationError(
                f"Create {self._meta.verbose_name_plural} through a job type: a proxy subclass "
                f"of {type(self).__name__} with Meta.target_model."
            )
        self.job_type = self._meta.label_lower
        self.content_type = ContentType.objects.get_for_model(self.get_target_model())


def delete_job_file(sender: type, instance: Any, **kwargs: Any) -> None:
    """Delete a deleted job's stored file once the deletion commits (``DELETE_FILES``).

    Connected in ``AppConfig.ready`` for each job model and job type (a deleted job is sent as its
    own type), never for every model: a receiver for all senders would slow down every
    ``QuerySet.delete()`` of the project.
    """
    from data_exchange_tool.storage import delete_file_on_commit

    stored = getattr(instance, "file", None)
    if stored:
        delete_file_on_commit(stored.storage, stored.name)
