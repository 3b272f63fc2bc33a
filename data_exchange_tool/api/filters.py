"""
The filters of the job lists (django-filter): state, uploader, creation dates, ordering.

``?state=PREVIEW_FAILED&state=IMPORT_FAILED&created_after=2025-01-01&ordering=-created_at``
"""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from data_exchange_tool.models import ImportJob, ImportJobPreviewRow, ImportJobRowError
from data_exchange_tool.states import JobState


class ImportJobFilterSet(django_filters.FilterSet):
    """Filter import jobs by state, uploader and creation time, and order them."""

    state = django_filters.MultipleChoiceFilter(
        choices=JobState.choices, help_text=_("One or more states (repeat the parameter).")
    )
    created_by = django_filters.NumberFilter(
        field_name="created_by_id", help_text=_("The id of the user who uploaded the file.")
    )
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at",
        lookup_expr="gte",
        help_text=_("Jobs created at or after this ISO 8601 date-time."),
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at",
        lookup_expr="lt",
        help_text=_("Jobs created before this ISO 8601 date-time."),
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
