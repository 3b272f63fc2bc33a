"""
Small HTML pieces and words the job admins share: the state badge, the progress bar, the steps
of a running task, the counts, short dates.

HTML is built with ``format_html``, so every value is escaped. The colours live in
``static/data_exchange_tool/admin.css`` under one class per state (``dxt-state-<state>``); the
progress bar carries ``data-dxt-progress`` so ``progress.js`` keeps it live while a task runs.
Every word is translated here, on the server: the script only copies the texts the progress
endpoint sends (``progress_payload``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from data_exchange_tool import progress
from data_exchange_tool.states import RUNNING_STATES, JobState

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from data_exchange_tool.models import ImportJob

#: States a page keeps polling in: the task is queued or running.
POLLING_STATES = (JobState.CREATED, *RUNNING_STATES)
#: The steps of a preview and of an import (or export), as a person follows them.
PREVIEW_STEPS = ("queued", "reading", "validating", "done")
WRITE_STEPS = ("queued", "reading", "writing", "done")
#: What each step is called while it has not started, or once it has passed.
STEP_LABELS = {
    "queued": gettext_lazy("Queued"),
    "reading": gettext_lazy("Reading the file"),
    "validating": gettext_lazy("Checking rows"),
    "writing": gettext_lazy("Writing rows"),
    "done": gettext_lazy("Done"),
}


def number(value: int | None) -> str:
    """Return a count as the active language writes it (thousands grouped)."""
    return number_format(value or 0, force_grouping=True)


def short_datetime(value: Any) -> str:
    """Return a date and time in the active language's short format ("" for None)."""
    if value is None:
        return ""
    return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


def when_html(value: Any) -> SafeString:
    """Return a date and time that never wraps, or a dash."""
    if value is None:
        return format_html("{}", "—")
    return format_html('<span class="dxt-when">{}</span>', short_datetime(value))


def who_and_when(user: Any, value: Any) -> SafeString:
    """Return a user's name and, below it, a date and time."""
    who = user.get_username() if user is not None else "—"
    return format_html("{}<br>{}", who, when_html(value))


def rows_text(done: int, total: int) -> str:
    """Return "1,000 / 5,000 rows" (or "1,000 rows" while the total is unknown)."""
    if not total:
        return ngettext("%(done)s row", "%(done)s rows", done) % {"done": number(done)}
    return ngettext("%(done)s / %(total)s row", "%(done)s / %(total)s rows", total) % {
        "done": number(done),
        "total": number(total),
    }


def time_left_text(seconds: int | None) -> str:
    """Return "about 12 seconds left" / "about 3 minutes left", or "" when unknown."""
    if seconds is None:
        return ""
    if seconds < 90:
        return ngettext("about %(count)s second left", "about %(count)s seconds left", seconds) % {
            "count": seconds
        }
    minutes = round(seconds / 60)
    return ngettext("about %(count)s minute left", "about %(count)s minutes left", minutes) % {
        "count": minutes
    }


def phase_label(job: Any) -> str:
    """Return what the task is doing now, in words ("Checking rows: 1,000 / 5,000 rows")."""
    phase = progress.phase(job)
    done, total = progress.read_progress(job)
    if phase == "queued":
        return _("Queued: Waiting for a worker to start the task…")
    if phase == "reading":
        return _("Reading the file…")
    if phase == "validating":
        return _("Checking rows: %(rows)s") % {"rows": rows_text(done, total)}
    if phase == "writing":
        return _("Writing rows: %(rows)s") % {"rows": rows_text(done, total)}
    if phase == "failed":
        return _("Failed.")
    if phase == "cancelled":
        return _("Cancelled.")
    return _("Done: %(rows)s.") % {"rows": rows_text(done, 0)}


def progress_detail(job: Any) -> str:
    """Return the progress beside the bar: rows done / total and the time left."""
    done, total = progress.read_progress(job)
    parts = [rows_text(done, total)] if total or done else []
    left = time_left_text(progress.seconds_left(job))
    if left:
        parts.append(left)
    return " · ".join(parts)


def previewing(job: Any) -> bool:
    """Return True when the job's current (or last) task is a preview, not a write."""
    if not hasattr(job, "preview_started_at"):
        return False  # an export writes
    if job.state == JobState.CANCELLED:
        return job.import_started_at is None
    return job.state in (
        JobState.CREATED,
        JobState.PREVIEW_IN_PROGRESS,
        JobState.PREVIEW_SUCCEEDED,
        JobState.PREVIEW_FAILED,
    )


def task_steps(job: Any) -> list[dict[str, Any]]:
    """Return the steps of the job's current (or last) task, each done, current or to do."""
    names = PREVIEW_STEPS if previewing(job) else WRITE_STEPS
    phase = progress.phase(job)
    if phase in ("failed", "cancelled"):
        last = _("Failed") if phase == "failed" else _("Cancelled")
        return [
            *({"name": name, "status": "done", "label": STEP_LABELS[name]} for name in names[:-1]),
            {"name": names[-1], "status": phase, "label": last},
        ]
    current = names.index(phase) if phase in names else len(names) - 1
    steps = []
    label: str | Promise
    for index, name in enumerate(names):
        if phase == "done" or index < current:
            status, label = "done", STEP_LABELS[name]
            if phase == "done" and name == "done":
                label = phase_label(job)
        elif index == current:
            status, label = "current", phase_label(job)
        else:
            status, label = "todo", STEP_LABELS[name]
        steps.append({"name": name, "status": status, "label": label})
    return steps


def progress_payload(job: Any, polling_states: tuple[str, ...] = POLLING_STATES) -> dict:
    """Return what the progress endpoint answers: state, progress, phase and words to show."""
    done, total = progress.read_progress(job)
    return {
        "id": job.pk,
        "state": job.state,
        "state_label": str(job.get_state_display()),
        "running": job.state in RUNNING_STATES,
        "polling": job.state in polling_states,
        "percent": progress.percent(job),
        "done": done,
        "total": total,
        "seconds_left": progress.seconds_left(job),
        "phase": progress.phase(job),
        "phase_label": phase_label(job),
        "detail": progress_detail(job),
    }


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
    """Return a job's row count and, below it, its non-zero counts by action (invalid marked)."""
    parts = [
        (count, label)
        for count, label in (
            (job.new_rows, _("new")),
            (job.updated_rows, _("updated")),
            (job.unchanged_rows, _("unchanged")),
        )
        if count
    ]
    breakdown = format_html_join(" · ", "{} {}", ((number(c), label) for c, label in parts))
    if job.invalid_rows:
        invalid = format_html(
            '<strong class="dxt-invalid">{}</strong> {}', number(job.invalid_rows), _("invalid")
        )
        breakdown = format_html("{} · {}", breakdown, invalid) if parts else invalid
    return format_html(
        '<span class="dxt-total">{}</span><br><span class="dxt-breakdown">{}</span>',
        number(job.total_rows),
        breakdown,
    )


class JobPageMixin:
    """What the admins of import and export jobs share: fetching the job a URL names."""

    def get_job(self, request: HttpRequest, object_id: str) -> Any:
        """Return the job the user may see, or raise ``Http404`` / ``PermissionDenied``."""
        if not self.has_view_or_change_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        job = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if job is None:
            raise Http404(
                _("No %(type)s with id %(id)s.") % {"type": self.opts.verbose_name, "id": object_id}  # type: ignore[attr-defined]
            )
        return job
