"""
The tasks that run a job in one task: its preview, its import, its export.

Each takes the job's pk only (``actions`` sends it once the transaction commits), claims the job
(``claims``), runs the pipeline (``imports.pipeline``, ``exports.pipeline``) and records how it
ended (``recording``), giving the job's lease back however it ends. A preview or an import of a
file long enough is cut into parts instead (``parts.partition``): their own tasks run it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.db import transaction

from data_exchange_tool import leases, recording
from data_exchange_tool.exceptions import (
    DataExchangeError,
    ExportCancelledError,
    FileFormatError,
    ImportAbortedError,
    ImportCancelledError,
)
from data_exchange_tool.exports.pipeline import ExportRun
from data_exchange_tool.imports.pipeline import ImportRun, PreviewRun
from data_exchange_tool.messages import RERUN_HINT, sentence
from data_exchange_tool.models import ExportJob, ImportJob, Phase
from data_exchange_tool.progress import ProgressChannel
from data_exchange_tool.storage import delete_file_on_commit, get_storage
from data_exchange_tool.tasks.claims import (
    claim_export,
    claim_import,
    claim_preview,
    job_task,
    routing_key,
)
from data_exchange_tool.tasks.parts import partition

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)


# --- preview -------------------------------------------------------------------------------


@job_task("data_exchange_tool.preview_job")
def preview_job(self: Task, job_pk: Any) -> None:
    """Validate every row of the job's file and record what the import would do.

    A file of more rows than the job type's ``get_part_rows()`` is cut into parts instead
    (``parts.partition``): their tasks validate them, and the last to end sends the merge.
    """
    job = claim_preview(job_pk, routing_key(self))
    if job is None:
        return
    if _partitioned(job, Phase.PREVIEW):
        return
    channel = ProgressChannel(job)
    try:
        result = PreviewRun(job, channel).execute()
    except ImportCancelledError:
        return
    except FileFormatError as exc:
        recording.end_preview(job, message=str(exc))
    except Exception as exc:
        logger.exception("data_exchange_tool: preview of job %s failed", job_pk)
        recording.end_preview(job, message=f"The preview failed unexpectedly: {exc}")
    else:
        recording.end_preview(job, result=result)
    finally:
        channel.close()
        leases.release_or_disconnect(job)


def _partitioned(job: ImportJob, phase: str) -> bool:
    """Cut the claimed job into parts (``parts.partition``); True when its parts run it."""
    try:
        if partition(job, phase):
            leases.release_or_disconnect(job)  # given back already; this is for certainty
            return True
    except BaseException:
        leases.release_or_disconnect(job)
        raise
    return False


# --- import --------------------------------------------------------------------------------


@job_task("data_exchange_tool.import_job")
def import_job(self: Task, job_pk: Any) -> None:
    """Write the job's rows in one transaction, in batches."""
    job = claim_import(job_pk, routing_key(self))
    if job is None:
        return
    if _partitioned(job, Phase.IMPORT):
        return
    channel = ProgressChannel(job)
    try:
        _import(job, channel)
    finally:
        channel.close()
        leases.release_or_disconnect(job)


def _import(job: ImportJob, channel: ProgressChannel) -> None:
    run = ImportRun(job, channel)
    committed = False
    try:
        with transaction.atomic():
            result = run.execute()
            job.after_import(result)
            if channel.cancel_requested():
                raise ImportCancelledError(job.pk)
            recording.succeed_import(job, result)
        committed = True
    except ImportCancelledError:
        recording.cancel_running_import(job)
    except ImportAbortedError as exc:
        recording.fail_import(job, str(exc), run.abort_errors)
    except FileFormatError as exc:
        recording.fail_import(job, f"{sentence(exc)} Nothing was written. {RERUN_HINT}")
    except Exception as exc:
        logger.exception("data_exchange_tool: import of job %s failed", job.pk)
        message = f"The import failed and nothing was written: {sentence(exc)} {RERUN_HINT}"
        recording.fail_import(job, message)
    finally:
        run.close(committed)


# --- export --------------------------------------------------------------------------------


@job_task("data_exchange_tool.export_job")
def export_job(self: Task, job_pk: Any) -> None:
    """Write the export's rows to a file in the job storage."""
    job = claim_export(job_pk, routing_key(self))
    if job is None:
        return
    channel = ProgressChannel(job)
    try:
        _export(job, channel)
    finally:
        channel.close()
        leases.release_or_disconnect(job)


def _export(job: ExportJob, channel: ProgressChannel) -> None:
    try:
        result = ExportRun(job, channel).execute()
    except ExportCancelledError:
        logger.info("data_exchange_tool: export %s stopped: it was cancelled", job.pk)
    except DataExchangeError as exc:
        recording.end_export(job, message=str(exc))
    except Exception as exc:
        logger.exception("data_exchange_tool: export %s failed", job.pk)
        recording.end_export(job, message=f"The export failed unexpectedly: {exc}")
    else:
        if recording.end_export(job, result=result) is None:
            # Cancelled meanwhile: the file is garbage, deleted whatever DELETE_FILES says.
            with transaction.atomic():
                delete_file_on_commit(get_storage(), result.name, always=True)
    finally:
        channel.close()
