"""
The preview as a table: the rows the preview kept, in the file's own columns.

Columns come in the file's order, headed by the file's headers (``job.file_headers``). Each row
starts with its record's identity (the values of the job type's natural key, read from the file's
columns), then its action; a changed cell shows old -> new, an invalid cell is marked with its
message beside the value. A changed cell that lists related objects (a many-to-many column)
shows the items it keeps, then those it removes (struck out) and those it adds. Tabs show all
rows or one action with its count; a page shows ``preview_rows_per_page`` rows. Where the
preview kept fewer rows than the file had (invalid and updated rows up to
``DATA_EXCHANGE_PREVIEW_KEEP_ROWS``, a sample of new and unchanged ones), the page says so, with
both numbers.

The import's own errors (the rows it skipped, or the rows that stopped it) are a section of their
own (``skipped_page``), never mixed with the preview's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.paginator import Page, Paginator
from django.db.models import Count
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from data_exchange_tool.conf import app_settings
from data_exchange_tool.imports.columns import ColumnMap
from data_exchange_tool.models import ImportJobPreviewRow, Phase
from data_exchange_tool.progress import read_counts
from data_exchange_tool.states import JobState, RowAction

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django_stubs_ext import StrOrPromise

    from data_exchange_tool.models import ImportJob

#: The tabs of the table: (query value, label, the count of ``ImportJob.counts``, row action).
TABS = (
    ("all", gettext_lazy("All rows"), "total", None),
    ("new", gettext_lazy("New"), "new", RowAction.NEW),
    ("updated", gettext_lazy("Updated"), "updated", RowAction.UPDATE),
    ("unchanged", gettext_lazy("Unchanged"), "unchanged", RowAction.UNCHANGED),
    ("invalid", gettext_lazy("Invalid"), "invalid", RowAction.INVALID),
)
#: The word of each action on a row's badge (one row: languages may inflect it).
ACTION_LABELS: dict[str, StrOrPromise] = {
    RowAction.NEW: pgettext_lazy("one row's action", "new"),
    RowAction.UPDATE: pgettext_lazy("one row's action", "update"),
    RowAction.UNCHANGED: pgettext_lazy("one row's action", "unchanged"),
    RowAction.INVALID: pgettext_lazy("one row's action", "invalid"),
}


def n(value: int) -> str:
    """Return a count as the active language writes it (thousands grouped)."""
    return number_format(value, force_grouping=True)


def header_map(job: ImportJob) -> dict[str, str]:
    """Return ``{serializer field or model field: the file's header}`` for the job's file."""
    try:
        serializer = job.get_serializer()
        fields = {name: f for name, f in serializer.fields.items() if not f.read_only}
        columns = ColumnMap(job.file_headers, fields, job.get_column_mapping())
    except Exception:  # a failed preview (missing column), a broken serializer: no mapping
        return {}
    found: dict[str, str] = {}
    for name, header in columns.header_of.items():
        found[name] = header
        found.setdefault(fields[name].source, header)  # type: ignore[arg-type]  # set by bind()
    return found


def key_headers(job: ImportJob, headers: dict[str, str]) -> list[str]:
    """Return the file's headers of the job type's natural key (the record's identity)."""
    try:
        natural_key = job.get_natural_key()
    except Exception:  # a broken declaration must not hide the page
        return []
    return [headers[name] for name in natural_key if name in headers]


@dataclass
class Cell:
    """One cell of the table: the file's text, old -> new when it changes, its errors.

    A many-to-many cell's change is shown item by item: ``kept``, ``removed``, ``added``.
    """

    value: str
    old: Any = None
    new: Any = None
    changed: bool = False
    errors: list[str] = field(default_factory=list)
    many: bool = False
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    def change(self, old: Any, new: Any) -> None:
        """Record the cell's change: old -> new, or the items kept, removed and added."""
        self.old, self.new, self.changed = old, new, True
        if isinstance(old, list) and isinstance(new, list):
            self.many = True
            self.kept = [str(item) for item in new if item in old]
            self.removed = [str(item) for item in old if item not in new]
            self.added = [str(item) for item in new if item not in old]


@dataclass
class Row:
    """One row of the table."""

    number: int
    action: str
    label: str
    identity: list[str]
    cells: list[Cell]
    row_errors: list[str]


class PreviewTable:
    """The table of a job's preview for one request: tabs, a page of rows, what was cut."""

    def __init__(self, job: ImportJob, request: HttpRequest, per_page: int) -> None:
        self.job = job
        self.request = request
        self.per_page = per_page
        self.columns = header_map(job)
        self.headers = [header for header in job.file_headers if header]
        self.key_headers = key_headers(job, self.columns)
        self.header_of_field = self.columns
        self.counts = read_counts(job)
        self.kept = self.kept_counts()
        self.current = self.current_tab(request.GET.get("show"))

    def kept_counts(self) -> dict[str, int]:
        """Return how many rows of each action the preview kept (one query)."""
        rows = self.job.preview_rows.values("action").annotate(kept=Count("id"))
        return {row["action"]: row["kept"] for row in rows}

    def current_tab(self, asked: str | None) -> str:
        """Return the tab asked for, else the invalid rows of a preview that has any, else all.

        Once the import ran, its own errors have their section: the table opens on all rows,
        so the same problems are not listed twice.
        """
        names = [name for name, _label, _count, _action in TABS]
        if asked in names:
            return asked
        imported = self.job.state in (JobState.IMPORT_SUCCEEDED, JobState.IMPORT_FAILED)
        return "invalid" if self.counts.get("invalid") and not imported else "all"

    @property
    def tabs(self) -> list[dict[str, Any]]:
        """Return the tabs with their labels, counts, links and which one is shown."""
        return [
            {
                "name": name,
                "label": label,
                "count": n(self.counts.get(count, 0)),
                "count_key": count,
                "url": self.url(show=name),
                "active": name == self.current,
            }
            for name, label, count, _action in TABS
        ]

    def action(self) -> str | None:
        return next(action for name, _l, _c, action in TABS if name == self.current)

    def url(self, **params: Any) -> str:
        """Return the page's query string with ``params`` changed (``page`` dropped on a tab)."""
        query = self.request.GET.copy()
        if "show" in params:
            query.pop("page", None)
        for name, value in params.items():
            query[name] = str(value)
        return f"?{query.urlencode()}#dxt-preview"

    @property
    def page(self) -> Page:
        """Return the current page of rows, each turned into cells."""
        if not hasattr(self, "_page"):
            rows = self.job.preview_rows.order_by("row_number", "id")
            action = self.action()
            if action is not None:
                rows = rows.filter(action=action)
            # A Page, with what the template reads added: rows, previous_url, next_url.
            page: Any = Paginator(rows, self.per_page).get_page(self.request.GET.get("page"))
            page.rows = [self.row(preview_row) for preview_row in page.object_list]
            page.previous_url = self.url(page=page.number - 1) if page.has_previous() else ""
            page.next_url = self.url(page=page.number + 1) if page.has_next() else ""
            self._page = page
        return self._page

    def row(self, preview_row: ImportJobPreviewRow) -> Row:
        """Return one kept row as the table shows it."""
        values = preview_row.values or {}
        changes = {
            self.header_of_field.get(name, name): pair
            for name, pair in (preview_row.changes or {}).items()
        }
        errors: dict[str, list[str]] = {}
        row_errors: list[str] = []
        headers = set(self.headers)
        for column, message in preview_row.errors or []:
            if column in headers:
                errors.setdefault(column, []).append(message)
            else:
                row_errors.append(f"{column}: {message}" if column else message)
        cells = []
        for header in self.headers:
            cell = Cell(value=values.get(header, ""), errors=errors.get(header, []))
            if header in changes:
                cell.change(*changes[header])
            cells.append(cell)
        return Row(
            number=preview_row.row_number,
            action=preview_row.action,
            label=str(ACTION_LABELS.get(preview_row.action, preview_row.action)),
            identity=[values.get(header, "") for header in self.key_headers],
            cells=cells,
            row_errors=row_errors,
        )

    @property
    def note(self) -> str:
        """Return where the table is cut, in words, or "" when it shows every row."""
        action = self.action()
        if action is None:
            total = self.counts.get("total", 0)
            kept = sum(self.kept.values())
            if kept >= total:
                return ""
            return _(
                "Showing %(kept)s of %(total)s rows: every invalid and updated row up to "
                "%(keep)s of each, and a sample of the new and unchanged rows."
            ) % {"kept": n(kept), "total": n(total), "keep": n(app_settings.PREVIEW_KEEP_ROWS)}
        count_of: dict[str | None, str] = {a: c for _n, _l, c, a in TABS}
        count = self.counts.get(count_of[action], 0)
        kept = self.kept.get(action, 0)
        if kept >= count:
            return ""
        return self.cut_note(action, kept, count)

    @staticmethod
    def cut_note(action: str, kept: int, count: int) -> str:
        values = {"kept": n(kept), "count": n(count)}
        notes: dict[str, str] = {
            RowAction.INVALID: ngettext(
                "Showing the first %(kept)s of %(count)s invalid row; the error report has "
                "them all.",
                "Showing the first %(kept)s of %(count)s invalid rows; the error report has "
                "them all.",
                count,
            ),
            RowAction.UPDATE: ngettext(
                "Showing the first %(kept)s of %(count)s updated row.",
                "Showing the first %(kept)s of %(count)s updated rows.",
                count,
            ),
            RowAction.NEW: ngettext(
                "Showing a sample: the first %(kept)s of %(count)s new row.",
                "Showing a sample: the first %(kept)s of %(count)s new rows.",
                count,
            ),
            RowAction.UNCHANGED: ngettext(
                "Showing a sample: the first %(kept)s of %(count)s unchanged row.",
                "Showing a sample: the first %(kept)s of %(count)s unchanged rows.",
                count,
            ),
        }
        return notes[action] % values


def skipped_page(job: ImportJob, request: HttpRequest, per_page: int) -> Page | None:
    """Return the page of the import's own errors, or None when the import recorded none."""
    if job.state not in (JobState.IMPORT_SUCCEEDED, JobState.IMPORT_FAILED):
        return None
    errors = job.row_errors.filter(phase=Phase.IMPORT).order_by("row_number", "id")
    page = Paginator(errors, per_page).get_page(request.GET.get("skipped_page"))
    if not page.paginator.count:
        return None
    query = request.GET.copy()
    for name, number in (("previous_url", page.number - 1), ("next_url", page.number + 1)):
        query["skipped_page"] = str(number)
        has = page.has_previous() if name == "previous_url" else page.has_next()
        setattr(page, name, f"?{query.urlencode()}#dxt-import-errors" if has else "")
    return page
