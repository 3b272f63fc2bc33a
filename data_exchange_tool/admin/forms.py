"""
Forms of the import admin: the upload form (add page) and the re-run form (a new file).

Both check the file before it is stored with the same check as the API (``uploads.check_upload``):
a supported extension, at most ``DATA_EXCHANGE_MAX_FILE_SIZE`` bytes, the format's signature.
Everything else about the file is found by the preview.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from data_exchange_tool.exceptions import UploadRefusedError
from data_exchange_tool.uploads import check_upload


def checked_upload(upload: Any) -> Any:
    """Return ``upload`` if it passes ``check_upload``, else raise a form ``ValidationError``."""
    try:
        check_upload(upload)
    except UploadRefusedError as exc:
        raise ValidationError(exc.message, code=exc.code) from None
    return upload


class ImportUploadForm(forms.ModelForm):
    """The add page: a file and, for people who may confirm, the force-import option."""

    def clean_file(self) -> Any:
        """Check the uploaded file's name, size and signature."""
        return checked_upload(self.cleaned_data["file"])


class RerunPreviewForm(forms.Form):
    """Run the preview again, with a new file when one is given."""

    file = forms.FileField(required=False, label=_("New file"))
    force_import = forms.BooleanField(
        required=False,
        label=_("Force import"),
        help_text=_("Skip invalid rows and import the others."),
    )

    def __init__(self, *args: Any, allow_force: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not allow_force:
            del self.fields["force_import"]

    def clean_file(self) -> Any:
        """Check a new file's name, size and signature; no file keeps the current one."""
        upload = self.cleaned_data.get("file")
        return checked_upload(upload) if upload else None
