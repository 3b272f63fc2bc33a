"""
Forms of the import admin: the upload form (add page) and the re-run form (a new file).

Both check the file before it is stored with the same check as the API (``uploads.check_upload``):
a supported extension, at most ``DATA_EXCHANGE_MAX_FILE_SIZE`` bytes, the format's signature.
Both take the text encoding and the CSV delimiter to read the file with (blank: detected), checked
as the API checks them (``uploads.clean_encoding``, ``uploads.clean_delimiter``). Everything else
about the file is found by the preview.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from data_exchange_tool.exceptions import UploadRefusedError
from data_exchange_tool.uploads import check_upload, clean_delimiter, clean_encoding

#: The delimiters offered on upload ("" detects it).
DELIMITER_CHOICES = (
    ("", _("Detect")),
    (",", _("Comma ,")),
    (";", _("Semicolon ;")),
    ("\t", _("Tab")),
    ("|", _("Pipe |")),
)
#: How a delimiter is shown on the job page.
DELIMITER_LABELS = {",": ",", ";": ";", "\t": _("tab"), "|": "|"}
ENCODING_HELP = _(
    "Leave blank to detect it. Or name a Python codec: utf-8, cp1252 (Western Europe), cp1250 "
    "(Central Europe), iso-8859-2, cp1251 (Cyrillic), cp932 (Japanese), utf-16..."
)


def _cleaned(clean: Any, value: Any) -> str:
    try:
        return str(clean(value))
    except UploadRefusedError as exc:
        raise ValidationError(exc.message, code=exc.code) from None


class ReadingOptionsMixin(forms.Form):
    """The text encoding and the CSV delimiter a person may name instead of detecting them."""

    encoding = forms.CharField(
        required=False, max_length=40, label=_("Text encoding"), help_text=ENCODING_HELP
    )
    delimiter = forms.ChoiceField(
        required=False,
        choices=DELIMITER_CHOICES,
        label=_("CSV delimiter"),
        help_text=_("Detected unless you choose one."),
    )

    def clean_encoding(self) -> str:
        """Return the codec's name, or refuse a name that is not one."""
        return _cleaned(clean_encoding, self.cleaned_data.get("encoding"))

    def clean_delimiter(self) -> str:
        """Return the delimiter chosen, "" to detect it."""
        return _cleaned(clean_delimiter, self.cleaned_data.get("delimiter"))


def checked_upload(upload: Any) -> Any:
    """Return ``upload`` if it passes ``check_upload``, else raise a form ``ValidationError``."""
    try:
        check_upload(upload)
    except UploadRefusedError as exc:
        raise ValidationError(exc.message, code=exc.code) from None
    return upload


class ImportUploadForm(ReadingOptionsMixin, forms.ModelForm):
    """The add page: a file, its encoding and delimiter (detected unless chosen) and, for people
    who may confirm, the force-import option."""

    def clean_file(self) -> Any:
        """Check the uploaded file's name, size and signature."""
        return checked_upload(self.cleaned_data["file"])


class RerunPreviewForm(ReadingOptionsMixin, forms.Form):
    """Run the preview again, with a new file when one is given, and the encoding and delimiter
    to read it with."""

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
