"""
The API's permission class: it asks ``data_exchange_tool.permissions``, as the admin does.

=============================  ================================================================
action                         needs (see ``data_exchange_tool.permissions``)
=============================  ================================================================
start                          ``add``
confirm                        ``confirm``
rerun                          ``change``, or ``add`` for a job one uploaded
cancel                         ``confirm`` (imports), ``change``, or ``add`` for one's own job
list, retrieve, rows, files    ``view`` or ``view_all`` (``change`` implies ``view``)
=============================  ================================================================

Visibility is separate: a user sees (and so acts on) only the jobs they started unless they hold
``view_all``; another user's job answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from data_exchange_tool import permissions

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class JobPermission(BasePermission):
    """Authenticated users holding the job type's permission for the view's action."""

    #: ``{action: permission words}``; any one of the words allows the action on the job type.
    action_permissions: ClassVar[dict[str, tuple[str, ...]]] = {
        "start": ("add",),
        "confirm": ("confirm",),
        "cancel": ("add", "confirm", "change"),
        "rerun": ("add", "change"),
    }
    #: ``{action: check(user, job)}``: what the action further needs on one job.
    object_checks: ClassVar[dict[str, Callable[[Any, Any], bool]]] = {
        "cancel": permissions.can_cancel,
        "rerun": permissions.can_rerun,
    }

    def get_permission_words(self, view: APIView) -> tuple[str, ...]:
        """Return the permission words of the view's current action."""
        action = getattr(view, "action", "")
        return self.action_permissions.get(action, permissions.READ_WORDS)

    def has_permission(self, request: Request, view: APIView) -> bool:
        """Allow authenticated users holding one of the action's permissions."""
        user = request.user
        if not (user and user.is_authenticated):
            return False
        job_type = view.job_type  # type: ignore[attr-defined]
        words = self.get_permission_words(view)
        if getattr(view, "action", "") not in self.action_permissions:
            allowed = permissions.can_read(user, job_type)
        else:
            allowed = permissions.has_job_permission(user, job_type, *words)
        if not allowed:
            self.message = permissions.describe_missing(job_type, words)
        return allowed

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        """Apply the action's check on one job (cancel and re-run: whose job it is)."""
        check = self.object_checks.get(getattr(view, "action", ""))
        if check is None or check(request.user, obj):
            return True
        self.message = _("You may not do this to a job you did not start.")
        return False
