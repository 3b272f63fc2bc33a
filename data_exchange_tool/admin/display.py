"""
Small HTML pieces the job admins share: the state badge and the progress bar.

Both are built with ``format_html``, so every value is escaped. The colours live in
``static/data_exchange_tool/admin.css`` under one class per state (``dxt-state-<state>``); the
progress bar carries ``data-dxt-progress`` so ``progress.js`` keeps it live while a task runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from data_exchange_tool.states import RUNNING_STATES, JobState

if TYPE_CHECKING:
    from data_exchange_tool.models import ImportJob

#: States a page keeps polling in: the task is queued or running.
POLLING_STATES = (JobState.CREATED, *RUNNING_STATES)


def state_badge(state: str, states: type[models.TextChoices] = JobState) -> SafeString:
    """Return a coloured badge naming ``state`` (one of ``states``: import or export states)."""
    label = states(state).label if state in states.values else state
    return format_html(
        '<span class="dxt-badge dxt-state-{}" data-state="{}">{}</span>',
        state.lower(),
        state,
        label,
    )


def progress_bar(
    state: str,
    percent: int,
    url: str = "",
    interval: float = 1.5,
    polling_states: tuple[str, ...] = POLLING_STATES,
) -> SafeString:
    """Return a progress bar; with ``url`` it polls that JSON endpoint while the job runs.

    The page reloads when the polled state differs from ``state``; polling stops with the task.
    ``polling_states`` are the states in which the job's task is queued or running.
    """
    attrs = ""
    if url and state in polling_states:
        attrs = format_html(
            ' data-dxt-progress data-url="{}" data-state="{}" data-interval="{}"',
            url,
            state,
            int(interval * 1000),
        )
    return format_html(
        '<div class="dxt-progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
        'aria-valuenow="{}"{}><div class="dxt-progress-bar" style="width: {}%"></div>'
        '<span class="dxt-progress-text">{}%</span></div>',
        percent,
        attrs,
        percent,
        percent,
    )


def counts_html(job: ImportJob) -> SafeString:
    """Return a job's row count and its counts by action, invalid rows marked."""
    invalid = (
        format_html('<strong class="dxt-invalid">{}</strong>', job.invalid_rows)
        if job.invalid_rows
        else "0"
    )
    return format_html(
        '<span class="dxt-total">{}</span><br><span class="dxt-breakdown">{} new · {} updated · '
        "{} unchanged · {} invalid</span>",
        job.total_rows,
        job.new_rows,
        job.updated_rows,
        job.unchanged_rows,
        invalid,
    )


class JobPageMixin:
    """What the admins of import and export jobs share: fetching the job a URL names."""

    def get_job(self, request: HttpRequest, object_id: str) -> Any:
        """Return the job the user may see, or raise ``Http404`` / ``PermissionDenied``."""
        if not self.has_view_or_change_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        job = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if job is None:
            raise Http404(f"No {self.opts.verbose_name} with id {object_id!r}.")  # type: ignore[attr-defined]
        return job
