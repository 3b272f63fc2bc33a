"""
The API's serializers: a job as a client sees it, the upload that starts one, and the rows a
preview or an import recorded.

These describe jobs, not the rows of a file: the row serializers users write for their job types
live in their own apps (``Meta.serializer_class``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from data_exchange_tool import actions
from data_exchange_tool.exceptions import UploadRefusedError
from data_exchange_tool.locking import (
    confirm_refusal,
    describe_holder,
    state_refusal,
)
from data_exchange_tool.models import ImportJob, ImportJobPreviewRow, ImportJobRowError
from data_exchange_tool.progress import percent, read_progress
from data_exchange_tool.states import FINAL_STATES
from data_exchange_tool.uploads import (
    MAX_NAME_LENGTH,
    check_upload,
    clean_delimiter,
    clean_encoding,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _string_map(help_text: StrOrPromise) -> serializers.DictField:
    return serializers.DictField(child=serializers.CharField(), read_only=True, help_text=help_text)


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    """An uploaded file, described as binary content whatever the schema settings."""


class ImportJobStartSerializer(serializers.Serializer):
    """The multipart upload that starts a job: the file and two options."""

    file = UploadField(
        max_length=MAX_NAME_LENGTH,
        help_text=_(
            "The CSV, XLSX, XLS, ODS, XLSB, JSON or JSON Lines file; its first row (its objects' "
            "keys) names the columns."
        ),
    )
    force_import = serializers.BooleanField(
        default=False, help_text=_("Import the valid rows even when some rows are invalid.")
    )
    skip_preview_confirmation = serializers.BooleanField(
        default=False,
        help_text=_("Start the import as soon as the preview succeeds, without a confirm call."),
    )
    encoding = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text=_(
            "The file's text encoding, a Python codec name (utf-8, cp1252, cp1250, cp1251, "
            "iso-8859-2, cp932, utf-16...); left out or blank: detected."
        ),
    )
    delimiter = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=9,
        help_text=_("The CSV delimiter: , ; tab (or \\t) or |; left out or blank: detected."),
    )

    def validate_file(self, value: Any) -> Any:
        """Refuse at once what can never be read: unknown type, too large, no signature."""
        return _checked(check_upload, value, value)

    def validate_encoding(self, value: str) -> str:
        """Return the codec's name, or refuse a name that is not one."""
        return _checked(clean_encoding, value)

    def validate_delimiter(self, value: str) -> str:
        """Return the delimiter named, or refuse one that is not offered."""
        return _checked(clean_delimiter, value)

    def create(self, validated_data: dict[str, Any]) -> ImportJob:
        """Create the job; its preview starts once the request's transaction commits."""
        upload = validated_data["file"]
        return actions.start_import(
            self.context["job_type"],
            upload,
            user=self.context["request"].user,
            file_name=os.path.basename(upload.name),
            force_import=validated_data["force_import"],
            options={"skip_preview_confirmation": validated_data["skip_preview_confirmation"]},
            encoding=validated_data.get("encoding", ""),
            delimiter=validated_data.get("delimiter", ""),
        )


def _checked(check: Any, value: Any, result: Any = None) -> Any:
    """Return ``check(value)`` (or ``result``), turning an ``UploadRefusedError`` into a 400."""
    try:
        cleaned = check(value)
    except UploadRefusedError as exc:
        raise serializers.ValidationError(exc.message, code=exc.code) from None
    return cleaned if result is None else result


class ImportJobRerunSerializer(ImportJobStartSerializer):
    """The multipart request that runs a finished preview again: a corrected file, or none."""

    file = UploadField(
        required=False,
        max_length=MAX_NAME_LENGTH,
        help_text=_(
            "A corrected CSV or XLSX file; without one the same file is checked again "
            "against the data as it is now."
        ),
    )
    force_import = serializers.BooleanField(
        required=False, help_text=_("Change the force-import option (kept when left out).")
    )
    encoding = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text=_("The text encoding to read the file in (kept when left out; blank: detect)."),
    )
    delimiter = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=9,
        help_text=_("The CSV delimiter: , ; tab or | (kept when left out; blank: detect)."),
    )
    skip_preview_confirmation = None  # type: ignore[assignment]  # DRF: None removes a field


class ImportJobSerializer(serializers.ModelSerializer):
    """One job: state, progress, counts, timings, message and links to its other endpoints."""

    #: ``{link name: viewset action}`` of the links every job carries.
    link_actions: ClassVar[dict[str, str]] = {
        "self": "detail",
        "preview": "preview",
        "errors": "errors",
        "error_report": "error-report",
        "file": "file",
        "confirm": "confirm",
        "cancel": "cancel",
    }

    state_label = serializers.CharField(source="get_state_display", read_only=True)
    created_by = serializers.SerializerMethodField()
    confirmed_by = serializers.SerializerMethodField()
    skip_preview_confirmation = serializers.SerializerMethodField()
    is_final = serializers.SerializerMethodField()
    confirm_refusal = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    timings = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()
    file_headers = serializers.ListField(
        child=serializers.CharField(allow_blank=True),
        read_only=True,
        help_text=_("The file's header row, as the preview read it."),
    )

    class Meta:
        model = ImportJob
        fields = (
            "id",
            "job_type",
            "state",
            "state_label",
            "is_final",
            "file_name",
            "file_size",
            "file_sha256",
            "file_encoding",
            "file_delimiter",
            "file_headers",
            "force_import",
            "skip_preview_confirmation",
            "message",
            "confirm_refusal",
            "progress",
            "counts",
            "timings",
            "created_by",
            "confirmed_by",
            "links",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_created_by(self, job: ImportJob) -> str | None:
        """Return the username of the uploader."""
        return job.created_by.get_username() if job.created_by else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_confirmed_by(self, job: ImportJob) -> str | None:
        """Return the username of the user who confirmed the import."""
        return job.confirmed_by.get_username() if job.confirmed_by else None

    def get_skip_preview_confirmation(self, job: ImportJob) -> bool:
        """Return True when the import starts on its own after a clean preview."""
        return bool((job.options or {}).get("skip_preview_confirmation"))

    def get_is_final(self, job: ImportJob) -> bool:
        """Return True once no task runs for the job unless a person asks.

        A failed import is final in this sense, though its preview may be run again.
        """
        return job.state in FINAL_STATES

    @extend_schema_field(
        serializers.CharField(
            allow_null=True,
            help_text=_("Why confirm would be refused now, or null when it would be accepted."),
        )
    )
    def get_confirm_refusal(self, job: ImportJob) -> str | None:
        """Return why a confirm would be refused now, or None.

        A list passes ``lock_holders`` (``{content_type_id: importing job}``) in the context, read
        once for the page, so the refusal costs no query per job.
        """
        holders = self.context.get("lock_holders")
        if holders is None:
            return confirm_refusal(job)
        reason = state_refusal(job)
        holder = holders.get(job.content_type_id)
        if reason or holder is None or holder.pk == job.pk:
            return reason
        return describe_holder(holder)

    @extend_schema_field(
        inline_serializer(
            "ImportJobProgress",
            {
                "percent": serializers.IntegerField(min_value=0, max_value=100),
                "done": serializers.IntegerField(),
                "total": serializers.IntegerField(),
            },
        )
    )
    def get_progress(self, job: ImportJob) -> dict[str, int]:
        """Return the running task's progress."""
        done, total = read_progress(job)
        return {"percent": percent(job), "done": done, "total": total}

    @extend_schema_field(
        inline_serializer(
            "ImportJobCounts",
            {
                name: serializers.IntegerField()
                for name in ("total", "new", "updated", "unchanged", "invalid")
            },
        )
    )
    def get_counts(self, job: ImportJob) -> dict[str, int]:
        """Return the rows of the last run by planned (or done) action."""
        return job.counts

    #: The job's timestamps shown under ``timings``.
    timing_fields: ClassVar[tuple[str, ...]] = (
        "created_at",
        "preview_started_at",
        "preview_finished_at",
        "import_started_at",
        "import_finished_at",
        "cancelled_at",
        "updated_at",
    )

    @extend_schema_field(
        inline_serializer(
            "ImportJobTimings",
            {name: serializers.DateTimeField(allow_null=True) for name in timing_fields},
        )
    )
    def get_timings(self, job: ImportJob) -> dict[str, str | None]:
        """Return when each step started and ended (ISO 8601, or null)."""
        field = serializers.DateTimeField()
        return {
            name: field.to_representation(value) if (value := getattr(job, name)) else None
            for name in self.timing_fields
        }

    @extend_schema_field(
        inline_serializer(
            "ImportJobLinks",
            {
                name: serializers.URLField()
                for name in (
                    "self",
                    "preview",
                    "errors",
                    "error_report",
                    "file",
                    "confirm",
                    "cancel",
                )
            },
        )
    )
    def get_links(self, job: ImportJob) -> dict[str, str]:
        """Return the URLs of the job's endpoints and downloads."""
        view = self.context.get("view")
        if view is None or not hasattr(view, "reverse_action"):
            return {}
        return {
            name: view.reverse_action(action, kwargs={"pk": job.pk})
            for name, action in self.link_actions.items()
        }


class PreviewRowSerializer(serializers.ModelSerializer):
    """A row the preview kept: its planned action, its cells, each change, each problem."""

    values = _string_map(_("The row as it was in the file: {column: cell text}."))
    changes = serializers.DictField(
        child=serializers.ListField(min_length=2, max_length=2),
        read_only=True,
        help_text=_("For updates: {field: [old value, new value]}."),
    )
    errors = serializers.ListField(  # type: ignore[assignment]  # a field, not Serializer.errors
        child=serializers.ListField(child=serializers.CharField(allow_blank=True)),
        read_only=True,
        help_text=_("For invalid rows: [column, message] of each problem (column blank: the row)."),
    )

    class Meta:
        model = ImportJobPreviewRow
        fields = ("row_number", "action", "values", "changes", "errors")
        read_only_fields = fields


class RowErrorSerializer(serializers.ModelSerializer):
    """One problem of one row: where, what, and the row's cells."""

    values = _string_map(_("The row as it was in the file: {column: cell text}."))

    class Meta:
        model = ImportJobRowError
        fields = ("row_number", "column", "message", "phase", "values")
        read_only_fields = fields


class ErrorSerializer(serializers.Serializer):
    """The body of an error: words for a person, a code for a program."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)


class TransitionErrorSerializer(ErrorSerializer):
    """A refused action: the job's state and why."""

    state = serializers.CharField()


class LockedErrorSerializer(TransitionErrorSerializer):
    """A refused confirm: the target's lock is held by another job."""

    blocking_job = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text=_("With code 'locked': the id of the job importing into the same target."),
    )
