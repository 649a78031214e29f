"""The procrastinate App of this server: a psycopg pool on DATABASE_URL and the options every worker
shares. The tasks are registered on it by `jobs.register`, so each App (a worker, a test's second
worker) holds its own Task objects."""

from __future__ import annotations

import os
import socket
from typing import Any

import procrastinate
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from core.jobs.failures import record_failures
from core.jobs.tracing import trace_job
from core.settings import Settings

APPLICATION_NAME = "swipesavvy-jobs"


def conninfo(database_url: str, settings: Settings) -> str:
    """libpq's connection string for `database_url`, whichever driver the URL names.

    The embedded server's URL carries its socket directory as `?host=`; libpq reads it as the host.
    """
    url = make_url(database_url)
    params: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    params.update({key: value for key, value in url.query.items() if isinstance(value, str)})
    # The same GUCs as the server's pool (core/database.py): UTC, and a runaway statement cancelled.
    params["options"] = f"-c timezone=UTC -c statement_timeout={settings.db_statement_timeout_ms}"
    params["application_name"] = APPLICATION_NAME
    return make_conninfo(**{key: value for key, value in params.items() if value not in (None, "")})


def worker_name() -> str:
    """Which machine and process a worker is, in the logs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def build_app(settings: Settings) -> procrastinate.App:
    """A procrastinate App on the settings' database, its workers configured by the JOB_* settings."""
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL must be set (`python server.py worker` sets it)")
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(settings.database_url, settings),
        # LISTEN holds one connection for the worker's life; the others serve fetches and acks.
        min_size=1,
        max_size=settings.job_pool_size,
    )
    return procrastinate.App(
        connector=connector,
        worker_defaults={
            "name": worker_name(),
            "concurrency": settings.job_concurrency,
            "queues": settings.job_queue_list,
            "fetch_job_polling_interval": settings.job_poll_interval_s,
            "abort_job_polling_interval": settings.job_poll_interval_s,
            "shutdown_graceful_timeout": settings.job_grace,
            # Three missed heartbeats before the worker counts as gone (retry-stalled-jobs).
            "update_heartbeat_interval": settings.job_stalled_after_s / 3,
            "stalled_worker_timeout": settings.job_stalled_after_s,
            # Finished jobs stay for inspection; prune-jobs deletes them after their retention.
            "delete_jobs": "never",
            # The job's span (only while tracing is on) holds the failure's recording too.
            "worker_middleware": [*([trace_job] if settings.tracing_enabled else []), record_failures],
        },
    )
