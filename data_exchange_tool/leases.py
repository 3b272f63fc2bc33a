"""
The lease a running task holds on its job: a PostgreSQL session-level advisory lock.

A task that claims a job (``tasks``) takes the job's lease on its database session and holds it
until it records how the job ended (``recording`` gives it back under the job's row lock, in the
transaction that records the end) or, failing that, until the task returns. A worker that dies
(SIGKILL, out of memory, a lost machine) loses its session, and PostgreSQL frees the lease with it:
whoever asks ``held(job)`` then learns at once, with no timeout, that nobody works on the job.

Keys use the two-integer form, ``pg_advisory_lock(namespace, job id)``, one namespace per job
model (``NAMESPACES``), which PostgreSQL keeps apart from the one-bigint form other applications
commonly use; ids wider than 32 bits wrap around (jobs 2**32 ids apart share a key). Locks are
per database, so two projects on one server never meet.

The lease lives on the connection the task runs on. In a Celery worker, Celery's Django fixup
closes the database connections before and after each task (unless ``CELERY_DB_REUSE_MAX``), so
the claim opens the connection that runs the whole task, and nothing closes it before the task
returns. With persistent connections (``CONN_MAX_AGE``, ``CELERY_DB_REUSE_MAX``, Django's
connection pool) the session outlives the task, so the task gives the lease back itself, also when
its import's transaction rolls back (a session-level lock survives a rollback), and closes the
connection when that fails. An action run in-process (``in_process=True``) holds the lease on the
caller's connection for as long as the task runs.

Where leases cannot be used (another database, ``DATA_EXCHANGE_ADVISORY_LOCKS = False`` behind a
pooler in transaction mode) every function here answers "no lease" and liveness falls back to the
heartbeat (``liveness``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import connection

from data_exchange_tool.conf import app_settings

if TYPE_CHECKING:
    from data_exchange_tool.models import ExportJob, ImportJob, ImportJobPart

    Job = ImportJob | ExportJob | ImportJobPart

logger = logging.getLogger(__name__)

#: The first key of each job model's leases: "DXTi", "DXTe" and "DXTp" (the parts of a
#: partitioned job) read as 32-bit integers.
NAMESPACES = {
    "data_exchange_tool.importjob": 0x44585469,
    "data_exchange_tool.exportjob": 0x44585465,
    "data_exchange_tool.importjobpart": 0x44585470,
}

# The lease of one job as pg_locks shows it (two-int keys have objsubid 2; oids are unsigned).
_LEASE = (
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND classid = %s::bigint::oid AND objid = %s::bigint::oid"
)
_MINE = f"{_LEASE} AND pid = pg_backend_pid()"
_HELD_SQL = f"SELECT EXISTS ({_LEASE})"
# Take the lease, unless this session holds it already (the count must stay at one).
_HOLD_SQL = (
    f"SELECT CASE WHEN EXISTS ({_MINE}) THEN true"
    " ELSE pg_try_advisory_lock(%s::integer, %s::integer) END"
)
_RELEASE_SQL = f"SELECT pg_advisory_unlock(%s::integer, %s::integer) WHERE EXISTS ({_MINE})"


def enabled() -> bool:
    """Return True when running tasks hold leases: PostgreSQL, with ADVISORY_LOCKS on."""
    return bool(app_settings.ADVISORY_LOCKS) and connection.vendor == "postgresql"


def key(job: Job) -> tuple[int, int]:
    """Return the lease's two keys: the job model's namespace and the id as a signed int4."""
    namespace = NAMESPACES[(job._meta.concrete_model or type(job))._meta.label_lower]
    return namespace, (int(job.pk) + 2**31) % 2**32 - 2**31


def _unsigned(job: Job) -> list[int]:
    namespace, second = key(job)
    return [namespace, second % 2**32]


def held(job: Job) -> bool | None:
    """Return whether a session holds the job's lease, or None where there are no leases."""
    if not enabled():
        return None
    with connection.cursor() as cursor:
        cursor.execute(_HELD_SQL, _unsigned(job))
        return bool(cursor.fetchone()[0])


def hold(job: Job) -> bool:
    """Take the job's lease for this session; return False when another session holds it.

    Returns True where there are no leases (nothing to take).
    """
    if not enabled():
        return True
    with connection.cursor() as cursor:
        cursor.execute(_HOLD_SQL, [*_unsigned(job), *key(job)])
        return bool(cursor.fetchone()[0])


def release(job: Job) -> None:
    """Give back the job's lease if this session holds it (else do nothing)."""
    if not enabled():
        return
    with connection.cursor() as cursor:
        cursor.execute(_RELEASE_SQL, [*key(job), *_unsigned(job)])


def release_or_disconnect(job: Job) -> None:
    """Give back the job's lease; if that fails, close the connection, which ends the session.

    A task calls this when it returns, whatever happened: a lease left on a persistent
    connection (``CONN_MAX_AGE``, Celery's ``CELERY_DB_REUSE_MAX``) would keep a finished job
    "alive". It never raises, so it cannot hide the task's own error.
    """
    try:
        release(job)
    except Exception:
        logger.warning(
            "data_exchange_tool: could not release the lease of %s #%s; closing the connection",
            job._meta.label,
            job.pk,
            exc_info=True,
        )
        if not connection.in_atomic_block:
            connection.close()
