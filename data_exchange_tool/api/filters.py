"""
The filters of the job lists (django-filter): state, uploader, creation dates, ordering.

``?state=PREVIEW_FAILED&state=IMPORT_FAILED&created_after=2025-01-01&ordering=-created_at``
"""

from __future__ import annotations

import datetime
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField

from data_exchange_tool.models import ImportJob, ImportJobPreviewRow, ImportJobRowError
from data_exchange_tool.states import JobState


class UTCDateTimeField(IsoDateTimeField):
    """An ISO 8601 date or date-time, with any offset, turned into UTC before any query.

    The database never sees the offset a client wrote: PostgreSQL refuses offsets beyond 15:59
    ("time zone displacement out of range") where Python accepts up to 23:59, and a date-time
    that leaves the years 1-9999 once in UTC is refused here, with the reason, as a 400.
    """

    default_error_messages = {
        "out_of_range": _("Enter a date-time that stays between the years 1 and 9999 once in UTC."),
    }

    def to_python(self, value: Any) -> datetime.datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(datetime.UTC)
        except (OverflowError, ValueError):
            raise ValidationError(
                self.error_messages["out_of_range"], code="out_of_range"
            ) from None


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    """``IsoDateTimeFilter`` whose value reaches the query in UTC (``UTCDateTimeField``)."""

    field_class = UTCDateTimeField


class ImportJobFilterSet(django_filters.FilterSet):
    """Filter import jobs by state, uploader and creation time, and order them."""

    state = django_filters.MultipleChoiceFilter(
        choices=JobState.choices, help_text=_("One or more states (repeat the parameter).")
    )
    created_by = django_filters.NumberFilter(
        field_name="created_by_id", help_text=_("The id of the user who uploaded the file.")
    )
    created_after = UTCDateTimeFilter(
        field_name="created_at",
        lookup_expr="gte",
        help_text=_(
            "Jobs created at or after this ISO 8601 date or date-time (any offset; a date-time "
            "without one is in the server's time zone)."
        ),
    )
    created_before = UTCDateTimeFilter(
        field_name="created_at",
        lookup_expr="lt",
        help_text=_(
            "Jobs created before this ISO 8601 date or date-time (any offset; a date-time "
            "without one is in the server's time zone)."
        ),
    )
    ordering = django_filters.OrderingFilter(
        fields=(
            ("created_at", "created_at"),
            ("id", "id"),
            ("state", "state"),
            ("total_rows", "total_rows"),
            ("invalid_rows", "invalid_rows"),
        ),
        help_text=_("Sort by a field; prefix it with '-' for descending order."),
    )

    class Meta:
        model = ImportJob
        fields = ("state", "created_by", "created_after", "created_before")


class PreviewRowFilterSet(django_filters.FilterSet):
    """Filter a preview's sample by planned action."""

    class Meta:
        model = ImportJobPreviewRow
        fields = ("action",)


class RowErrorFilterSet(django_filters.FilterSet):
    """Filter row errors by the phase that found them (preview or import) and column."""

    class Meta:
        model = ImportJobRowError
        fields = ("phase", "column")
