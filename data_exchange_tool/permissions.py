"""
Permissions: who may do what with the jobs of a job type, decided here for the admin and the API.

A job type is a proxy model, so Django gives it its own ``add`` / ``change`` / ``delete`` /
``view`` permissions, and the job model's metaclass adds ``view_all_<type>`` (and, for imports,
``confirm_<type>``). Each can also be granted for every job type at once through the concrete
model's own permission (``data_exchange_tool.<word>_importjob`` / ``_exportjob``).

=================================  ============================================================
to                                 needs
=================================  ============================================================
see one's own jobs                 ``view`` (or ``change``, or ``view_all``)
see everyone's jobs                ``view_all``
upload a file, start an export     ``add``
confirm an import, force it        ``confirm``
run a preview again                ``change``, or ``add`` for a job one uploaded
cancel an import                   ``confirm``, ``change``, or ``add`` for a job one uploaded
cancel an export                   ``change``, or ``add`` for an export one started
=================================  ============================================================

The admin's ``has_*_permission`` methods and the API's permission classes both ask these
functions, so the two interfaces always agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from data_exchange_tool.models import ExportJob, ImportJob

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from data_exchange_tool.models.base import BaseJob

#: The permission words that let a user read a job type's jobs (theirs, or all with view_all).
READ_WORDS = ("view", "view_all")


def concrete(job_type: type[BaseJob]) -> type[BaseJob]:
    """Return the concrete job model (``ImportJob`` or ``ExportJob``) of a job type."""
    return ExportJob if issubclass(job_type, ExportJob) else ImportJob


def permission_names(job_type: type[BaseJob], word: str) -> tuple[str, ...]:
    """Return the job type's permission for ``word`` and the one valid for every job type."""
    names = (job_type.permission_codename(word), concrete(job_type).permission_codename(word))
    return tuple(dict.fromkeys(names))


def has_job_permission(user: Any, job_type: type[BaseJob], *words: str) -> bool:
    """Return True when ``user`` holds one of ``words`` (``"add"``, ...) for ``job_type``."""
    if not (user and user.is_active):
        return False
    return any(user.has_perm(name) for word in words for name in permission_names(job_type, word))


def describe_missing(job_type: type[BaseJob], words: tuple[str, ...]) -> str:
    """Return the sentence naming the permissions a refused user lacks."""
    names = _(" or ").join(job_type.permission_codename(word) for word in words)
    return _("You need the permission %(names)s.") % {"names": names}


def can_read(user: Any, job_type: type[BaseJob]) -> bool:
    """Return True when ``user`` may see jobs of ``job_type`` (their own at least)."""
    return has_job_permission(user, job_type, *READ_WORDS, "change")


def can_view_all(user: Any, job_type: type[BaseJob]) -> bool:
    """Return True when ``user`` sees every user's jobs of ``job_type``, not only their own."""
    return has_job_permission(user, job_type, "view_all")


def can_start(user: Any, job_type: type[BaseJob]) -> bool:
    """Return True when ``user`` may upload a file (or start an export) of ``job_type``."""
    return has_job_permission(user, job_type, "add")


def can_confirm(user: Any, job_type: type[BaseJob]) -> bool:
    """Return True when ``user`` may confirm imports of ``job_type`` and force them."""
    return has_job_permission(user, job_type, "confirm")


def is_owner(user: Any, job: BaseJob) -> bool:
    """Return True when ``user`` started ``job`` and may still start jobs of its type."""
    return job.created_by_id == user.pk and can_start(user, type(job))  # type: ignore[attr-defined]


def can_rerun(user: Any, job: ImportJob) -> bool:
    """Return True when ``user`` may run the preview of ``job`` again (with a new file)."""
    return has_job_permission(user, type(job), "change") or is_owner(user, job)


def can_cancel(user: Any, job: BaseJob) -> bool:
    """Return True when ``user`` may cancel ``job``."""
    if has_job_permission(user, type(job), "change") or is_owner(user, job):
        return True
    return isinstance(job, ImportJob) and can_confirm(user, type(job))


def visible_jobs(queryset: QuerySet, user: Any, job_type: type[BaseJob]) -> QuerySet:
    """Return the jobs of ``queryset`` that ``user`` may see: all, or only their own."""
    if can_view_all(user, job_type):
        return queryset
    return queryset.filter(created_by_id=user.pk)
