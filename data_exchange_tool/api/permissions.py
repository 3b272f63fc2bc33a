"""
Who may do what with the jobs of one job type.

A job type is a proxy model, so Django gives it its own ``add`` / ``view`` permissions, and the
job model metaclass adds ``confirm_<model>`` and ``view_all_<model>``. Each permission can also be
granted for every job type at once through ``ImportJob``'s own
(``data_exchange_tool.<name>_importjob``).

=============================  ==============================================
action                         needs one of
=============================  ==============================================
start                          ``add``
confirm                        ``confirm``
cancel                         ``add``, ``confirm``
list, retrieve, rows, files    ``view``, ``view_all``
=============================  ==============================================

Visibility is separate: a user sees (and so acts on) only the jobs they uploaded unless they hold
``view_all``; another user's job answers 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rest_framework.permissions import BasePermission

from data_exchange_tool.models import ImportJob

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


def job_permission_names(job_type: type[ImportJob], word: str) -> tuple[str, str]:
    """Return the job type's permission for ``word`` and the one valid for every job type."""
    return job_type.permission_codename(word), ImportJob.permission_codename(word)


def has_job_permission(user: Any, job_type: type[ImportJob], word: str) -> bool:
    """Return True when ``user`` holds ``word`` (``"add"``, ``"confirm"``...) for ``job_type``."""
    return any(user.has_perm(name) for name in job_permission_names(job_type, word))


def can_view_all(user: Any, job_type: type[ImportJob]) -> bool:
    """Return True when ``user`` may see every user's jobs of ``job_type``."""
    return has_job_permission(user, job_type, "view_all")


class ImportJobPermission(BasePermission):
    """Authenticated users holding the job type's permission for the view's action."""

    #: ``{action: permission words}``; any one of the words allows the action.
    action_permissions: ClassVar[dict[str, tuple[str, ...]]] = {
        "start": ("add",),
        "confirm": ("confirm",),
        "cancel": ("add", "confirm"),
        "rerun": ("add",),
    }
    #: The words that allow every other (reading) action.
    read_permissions: ClassVar[tuple[str, ...]] = ("view", "view_all")

    def get_permission_words(self, view: APIView) -> tuple[str, ...]:
        """Return the permission words of the view's current action."""
        return self.action_permissions.get(getattr(view, "action", ""), self.read_permissions)

    def has_permission(self, request: Request, view: APIView) -> bool:
        """Allow authenticated users holding one of the action's permissions."""
        user = request.user
        if not (user and user.is_authenticated):
            return False
        job_type = view.job_type  # type: ignore[attr-defined]
        words = self.get_permission_words(view)
        if any(has_job_permission(user, job_type, word) for word in words):
            return True
        names = " or ".join(job_type.permission_codename(word) for word in words)
        self.message = f"You need the permission {names}."
        return False
