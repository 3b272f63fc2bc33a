"""
Signals sent as jobs move. Every signal passes ``sender`` (the job type) and ``job``.

- ``preview_finished``: the preview ended, succeeded or failed (``result`` or ``message``).
- ``import_finished``: the import wrote its rows (``result``).
- ``import_failed``: the import failed and nothing was written (``message``).
- ``job_cancelled``: the job was cancelled.
- ``export_finished``: an export wrote its file (``job.file``).
- ``export_failed``: an export failed (``message``).
"""

from __future__ import annotations

from django.dispatch import Signal

preview_finished = Signal()
import_finished = Signal()
import_failed = Signal()
job_cancelled = Signal()
export_finished = Signal()
export_failed = Signal()
