"""
Forms of the import admin: the upload form (add page) and the re-run form (a new file).

Both check the file before it is stored: a supported extension and at most
``DATA_EXCHANGE_MAX_FILE_SIZE`` bytes. Everything else about the file is found by the preview.
"""

from __future__ import annotations

import os
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from data_exchange_tool.conf import app_settings
from data_exchange_tool.imports.readers import supported_extensions


def check_upload(upload: Any) -> Any:
    """Return ``upload`` when its extension and size are accepted, or raise ``ValidationError``."""
    extension = os.path.splitext(upload.name or "")[1].lower()
    allowed = supported_extensions()
    if extension not in allowed:
        raise ValidationError(
            "Files of type %(ext)s are not supported: use %(allowed)s.",
            code="extension",
            params={"ext": extension or "(none)", "allowed": ", ".join(allowed)},
        )
    if upload.size > app_settings.MAX_FILE_SIZE:
        raise ValidationError(
            "The file is %(size)s; the largest accepted is %(limit)s.",
            code="size",
            params={
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(app_settings.MAX_FILE_SIZE),
            },
        )
    return upload


class ImportUploadForm(forms.ModelForm):
    """The add page: a file and, for people who may confirm, the force-import option."""

    def clean_file(self) -> Any:
        """Check the uploaded file's extension and size."""
        return check_upload(self.cleaned_data["file"])


class RerunPreviewForm(forms.Form):
    """Run the preview again, with a new file when one is given."""

    file = forms.FileField(required=False, label="New file")
    force_import = forms.BooleanField(
        required=False, label="Force import", help_text="Skip invalid rows and import the others."
    )

    def __init__(self, *args: Any, allow_force: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not allow_force:
            del self.fields["force_import"]

    def clean_file(self) -> Any:
        """Check a new file's extension and size; no file keeps the current one."""
        upload = self.cleaned_data.get("file")
        return check_upload(upload) if upload else None
