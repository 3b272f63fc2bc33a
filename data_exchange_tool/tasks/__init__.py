"""
The Celery tasks: preview, import, export, their parts, and the recovery of dead jobs.

Tasks only fetch, claim, run the pipeline and record. Each room holds one concept, each importing
only the rooms below it:

- ``recovery``: the reaper of dead jobs, and the tasks a starting worker sends again;
- ``jobs``: the tasks that run a preview, an import or an export in one task;
- ``parts``: a partitioned preview or import: the cut, the parts' tasks, the merge and the apply;
- ``claims``: fetching a job under its row lock and starting it, or doing nothing.

Importing this package (as Celery's ``autodiscover_tasks`` does) registers every task and
connects the ``worker_ready`` receiver; the names below are those callers use.
"""

from __future__ import annotations

from data_exchange_tool.imports.pipeline import plan_parts
from data_exchange_tool.tasks.claims import (
    claim_export,
    claim_import,
    claim_preview,
    routing_key,
)
from data_exchange_tool.tasks.jobs import export_job, import_job, preview_job
from data_exchange_tool.tasks.parts import (
    claim_part,
    finish_import,
    finish_preview,
    import_part,
    partition,
    preview_part,
)
from data_exchange_tool.tasks.recovery import (
    reap_stale_jobs,
    restart_dead_jobs,
    restart_dead_jobs_when_ready,
)

__all__ = [
    "claim_export",
    "claim_import",
    "claim_part",
    "claim_preview",
    "export_job",
    "finish_import",
    "finish_preview",
    "import_job",
    "import_part",
    "partition",
    "plan_parts",
    "preview_job",
    "preview_part",
    "reap_stale_jobs",
    "restart_dead_jobs",
    "restart_dead_jobs_when_ready",
    "routing_key",
]
