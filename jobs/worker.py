"""Running a worker: `python server.py worker` on any number of machines, and the one `serve` starts.

A worker takes jobs from PostgreSQL (woken by LISTEN/NOTIFY, polling as a fallback), runs up to
JOB_CONCURRENCY at once and defers the periodic jobs' ticks. SIGTERM or SIGINT stops it gracefully:
no new job is taken, running ones get JOB_SHUTDOWN_GRACE_S to finish, then are aborted and given back
to the queue (an attempt counted, retried per the backoff). A second signal gives them back at once
(core/jobs/hurry.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Iterator
from typing import Any

import procrastinate
from sqlalchemy import text

from core.change_feed import ChangeFeed
from core.changes import ChangeDispatcher
from core.database import create_engine, create_sessionmaker
from core.delivery.registry import Delivery
from core.jobs.app import build_app
from core.jobs.hurry import Hurry
from core.jobs.periodic import CHANGES, DELIVERY, SESSIONMAKER, SETTINGS
from core.jobs.queue_depth import observe_queue_depth
from core.redis import create_redis
from core.response_invalidation import invalidation_for
from core.settings import Settings
from core.tracing import start_tracing
from jobs import register
from jobs.ingest import fold_loop

log = logging.getLogger("swipesavvy.jobs")
# Pauses before starting a stopped worker again, one more step per stop in a row (back to the first
# once a run lasted STEADY_S): a restart of PostgreSQL takes seconds, an outage may take minutes.
RESTART_PAUSES_S = (0.5, 1.0, 2.0, 5.0, 10.0)
STEADY_S = 60.0


class EngineSchemaMissing(RuntimeError):
    """The database has no job tables: it was not migrated."""


async def run_worker(
    settings: Settings, *, app: procrastinate.App | None = None, install_signal_handlers: bool = True
) -> None:
    """Run a worker until it is stopped (a signal, or the task running it cancelled)."""
    app = app or register(build_app(settings), settings)
    # The tasks' own SQL (resolvers' code) runs on the server's driver, in a pool sized to the jobs
    # running at once.
    engine = create_engine(settings.database_url or "", settings, pool_size=settings.job_concurrency + 1)
    # A job's commits reach the subscriptions of every server (notificationReceived) as a request's do;
    # a worker given no Redis runs its jobs all the same, unheard.
    redis = create_redis(settings.redis_url) if settings.redis_url else None
    changes = ChangeDispatcher()
    if redis is not None:
        # Entries a job's commit made stale are dropped as a request's commit drops them.
        invalidation = invalidation_for(settings, redis)
        if invalidation is not None:
            changes.subscribe(invalidation)
        feed = ChangeFeed(redis, url=settings.redis_url or "", prefix=settings.redis_key_prefix)
        changes.subscribe(feed.publish)
    delivery = Delivery(settings)
    # In the worker's own process, once it runs (jobs/process.py starts it beside the server).
    tracing = start_tracing(settings, engines=[engine])
    depth: asyncio.Task[None] | None = None
    fold: asyncio.Task[None] | None = None
    try:
        async with engine.connect() as conn:
            if (await conn.execute(text("SELECT to_regclass('procrastinate_jobs')"))).scalar() is None:
                raise EngineSchemaMissing("the database has no job tables: run `python server.py migrate`")
        hurry = Hurry()
        depth = asyncio.create_task(
            observe_queue_depth(engine, interval_s=settings.metrics_queue_depth_interval_s)
        )
        sessionmaker = create_sessionmaker(engine)
        # Beside the jobs, not one of them: it never takes a job slot, and stops with the worker.
        if settings.ingest_fold_in_worker:
            fold = asyncio.create_task(fold_loop(sessionmaker, changes, settings))
        context = {SESSIONMAKER: sessionmaker, SETTINGS: settings, CHANGES: changes, DELIVERY: delivery}
        middleware = [*app.worker_defaults.get("worker_middleware", []), hurry.middleware]
        signals = StopSignals(hurry)
        with signals.installed() if install_signal_handlers else contextlib.nullcontext():
            await _run_until_stopped(app, context, middleware, signals)
    finally:
        for task in (depth, fold):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await delivery.aclose()
        if redis is not None:
            await redis.aclose()
        await engine.dispose()
        if tracing is not None:
            tracing.stop()


async def _run_until_stopped(
    app: procrastinate.App, context: dict[str, Any], middleware: list[Any], signals: StopSignals
) -> None:
    """Procrastinate's worker, started again whenever it stops without being asked to: it stops itself
    when its listener or heartbeat loses PostgreSQL (a restart), and a worker that stayed stopped ran
    no job, no fold and no schedule until someone noticed."""
    failures = 0
    while True:
        started = time.monotonic()
        try:
            async with app.open_async():
                signals.runner = asyncio.create_task(
                    app.run_worker_async(
                        additional_context=context,
                        worker_middleware=middleware,
                        # Ours (StopSignals): procrastinate's own have no answer to a second signal.
                        install_signal_handlers=False,
                    )
                )
                if signals.count:  # a signal came while the worker opened: there was nothing to stop
                    signals.runner.cancel()
                await signals.runner
            reason = "it lost PostgreSQL"
        except asyncio.CancelledError:
            if not signals.count:  # cancelled from outside (a test), not stopped by a signal
                raise
            return
        except Exception as exc:  # opening its pool or registering: PostgreSQL is not back yet
            reason = f"{type(exc).__name__} while starting"
        if signals.count:
            return
        failures = 1 if time.monotonic() - started >= STEADY_S else failures + 1
        pause = RESTART_PAUSES_S[min(failures, len(RESTART_PAUSES_S)) - 1]
        log.warning("the job worker stopped (%s): starting it again in %.1f s", reason, pause)
        signals.runner = asyncio.create_task(asyncio.sleep(pause))
        try:
            await signals.runner
        except asyncio.CancelledError:
            if not signals.count:
                raise
            return


class StopSignals:
    """SIGTERM or SIGINT: the first stops the worker gracefully (procrastinate stops when the task
    running it is cancelled; a pause before a restart just ends), a later one hurries it."""

    def __init__(self, hurry: Hurry) -> None:
        self.hurry = hurry
        self.runner: asyncio.Task[None] | None = None
        self.count = 0

    def __call__(self, sig: signal.Signals) -> None:
        self.count += 1
        if self.count == 1:
            log.info("%s: no new job; running ones get the grace period", sig.name)
            if self.runner is not None:
                self.runner.cancel()
        else:
            log.warning("%s again: running jobs are given back to the queue now", sig.name)
            self.hurry.set()

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self, sig)
        try:
            yield
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
