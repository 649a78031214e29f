"""The measured runs of bench/notifications.py: a campaign's schedule in process, its delivery by
worker processes, and the baselines each is compared with."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.delivery.log import LogProvider
from core.delivery.message import Channel, Outgoing, Platform
from core.settings import PROJECT_ROOT, Settings
from jobs.notifications import defer_delivery
from resolvers.notifications.campaign_sends import schedule_campaign

# Every periodic job off in the measured workers: only the delivery loops the bench defers run, and
# no maintenance tick (prune, rollups) competes with them for the two cores.
NO_CRONS = {
    name: ""
    for name in (
        "JOB_CRON_ROLLUP_FLAG_USAGE", "JOB_CRON_PRUNE", "JOB_CRON_RECOMPUTE_RESULTS",
        "JOB_CRON_RETRY_STALLED", "JOB_CRON_PRUNE_JOBS", "JOB_CRON_DELIVER_NOTIFICATIONS",
    )
}  # fmt: skip
BASELINE_INSERT = text("""
INSERT INTO bench_notifications (user_id, campaign_id, category, title, body, data, deliver_at)
SELECT u.id, CAST(:campaign AS bigint), 'offers', CAST(:title AS text), CAST(:title AS text),
       jsonb_build_object('link', 'swipesavvy://campaigns/' || CAST(:campaign AS bigint)), now()
FROM users u WHERE u.role = 'customer' AND u.deleted_at IS NULL
""")
DUPLICATES = text("""
SELECT count(*) FROM (SELECT user_id FROM notifications WHERE campaign_id = :campaign
                      GROUP BY user_id HAVING count(*) > 1) AS d
""")
PROGRESS = text("""
SELECT count(*) FILTER (WHERE n.sent_at IS NULL) AS unsent,
       (SELECT count(*) FROM notification_deliveries d JOIN notifications m ON m.id = d.notification_id
        WHERE m.campaign_id = :campaign AND d.status = 'pending') AS pending
FROM notifications n WHERE n.campaign_id = :campaign AND n.cancelled_at IS NULL AND n.deliver_at <= :due
""")
SPAN = text("""
SELECT count(*) FILTER (WHERE n.sent_at IS NOT NULL),
       count(*) FILTER (WHERE n.sent_at IS NULL AND n.deliver_at > :due), min(n.sent_at),
       greatest(max(n.sent_at), (SELECT max(d.sent_at) FROM notification_deliveries d
                                 JOIN notifications m ON m.id = d.notification_id
                                 WHERE m.campaign_id = :campaign))
FROM notifications n WHERE n.campaign_id = :campaign
""")
OUTCOMES = text("""
SELECT d.channel, d.status, coalesce(d.last_error, ''), coalesce(d.provider, ''), count(*),
       sum(greatest(d.attempts - 1, 0))
FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id
WHERE n.campaign_id = :campaign GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
""")

READY = text(
    "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - interval '10 seconds'"
)


@dataclass
class Scheduled:
    seconds: float
    rows: int
    skipped: Counter[str]
    duplicates: int
    baseline_seconds: float
    baseline_rows: int


@dataclass
class Delivered:
    notifications: int
    not_due: int  # moved past the run by quiet hours, as an at-once send is
    seconds: float  # first notification's sent_at to the last sent_at (notification or delivery)
    wall_seconds: float  # first deferral to nothing left to do, as polled
    outcomes: list[tuple[Any, ...]] = field(default_factory=list)
    busiest: int = 0  # the most worker processes seen running a delivery loop at once
    repeats: int = 0  # sends beyond a delivery's first: what receivers drop by its delivery id
    baseline_seconds: float = 0.0


def transaction_of(sessions: async_sessionmaker[AsyncSession]) -> Any:
    async def transaction(work: Any) -> Any:
        async with sessions() as session, session.begin():
            return await work(session)

    return transaction


async def schedule(
    sessions: async_sessionmaker[AsyncSession], campaign_id: int, settings: Settings
) -> tuple[float, int, Counter[str]]:
    began = time.perf_counter()
    report = await schedule_campaign(
        transaction_of(sessions), campaign_id=campaign_id, now=dt.datetime.now(dt.UTC), settings=settings
    )
    if report.stopped:
        raise RuntimeError(f"the campaign was not scheduled: {report.stopped}")
    return time.perf_counter() - began, report.scheduled, report.skipped


async def baseline_insert(sessions: async_sessionmaker[AsyncSession], campaign_id: int) -> tuple[float, int]:
    """The same rows in one INSERT … SELECT, into a temporary copy of the table (its indexes, the
    (campaign, user) one included; no foreign keys), rolled back."""
    async with sessions() as session, session.begin():
        await session.execute(
            text("CREATE TEMP TABLE bench_notifications (LIKE notifications INCLUDING ALL)")
        )
        began = time.perf_counter()
        written = await session.execute(BASELINE_INSERT, {"campaign": campaign_id, "title": "bench"})
        seconds = time.perf_counter() - began
        await session.rollback()
    return seconds, int(written.rowcount or 0)  # type: ignore[attr-defined]


async def duplicates(sessions: async_sessionmaker[AsyncSession], campaign_id: int) -> int:
    async with sessions() as session:
        return int(await session.scalar(DUPLICATES, {"campaign": campaign_id}) or 0)


@contextmanager
def workers(count: int, env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` processes of `python server.py worker`, stopped with SIGTERM (then killed) at the end."""
    environment = {**os.environ, **NO_CRONS, "LOG_LEVEL": "WARNING", "APP_ENV": "development", **env}
    command = [sys.executable, str(PROJECT_ROOT / "server.py"), "worker"]
    started = [subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment) for _ in range(count)]
    try:
        yield started
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _job_states(sessions: async_sessionmaker[AsyncSession]) -> Counter[str]:
    """Delivery loops by status, and under "workers" how many workers run one now."""
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT status, count(*), count(DISTINCT worker_id) FROM procrastinate_jobs "
                 "WHERE task_name = 'deliver-notifications' GROUP BY status")
        )  # fmt: skip
        states = Counter[str]()
        for status, n, running in rows:
            states[str(status)] = int(n)
            if status == "doing":
                states["workers"] = int(running)
        return states


async def deliver(
    sessions: async_sessionmaker[AsyncSession],
    campaign_id: int,
    *,
    due: dt.datetime,
    loops: int,
    timeout_s: float,
) -> tuple[float, int, int]:
    """Wait for `loops` workers, defer the delivery loop once, then poll until nothing of the campaign
    due by `due` is left to send. Returns the wall time from the deferral, the due notifications
    still unsent (0 unless timed out) and the most workers seen running a loop at once."""
    deadline = time.perf_counter() + timeout_s
    # The clock starts once every worker is up: their start-up (imports, pools) is not delivery.
    while time.perf_counter() < deadline:
        async with sessions() as session:
            up = await session.scalar(READY)
        if (up or 0) >= loops:
            break
        await asyncio.sleep(0.05)
    began = time.perf_counter()
    # One deferral, as a schedule job makes: a loop finding a full batch defers the next one, so the
    # other workers join in on their own (jobs/notifications.py).
    async with sessions() as session, session.begin():
        await defer_delivery(session)
    unsent, busiest = -1, 0
    while time.perf_counter() < deadline:
        busiest = max(busiest, (await _job_states(sessions))["workers"])
        async with sessions() as session:
            unsent, pending = (await session.execute(PROGRESS, {"campaign": campaign_id, "due": due})).one()
        if unsent == 0 and pending == 0:
            break
        await asyncio.sleep(0.1)
    return time.perf_counter() - began, int(unsent), busiest


async def delivered(
    sessions: async_sessionmaker[AsyncSession], campaign_id: int, *, due: dt.datetime, wall: float
) -> Delivered:
    async with sessions() as session:
        count, not_due, first, last = (
            await session.execute(SPAN, {"campaign": campaign_id, "due": due})
        ).one()
        outcomes = [tuple(r) for r in await session.execute(OUTCOMES, {"campaign": campaign_id})]
    seconds = (last - first).total_seconds() if first is not None and last is not None else float("nan")
    repeats = sum(int(r[5] or 0) for r in outcomes if r[1] == "sent")
    return Delivered(int(count), int(not_due), seconds, wall, outcomes, repeats)


async def baseline_sends(count: int) -> float:
    """A bare loop: LogProvider.send `count` times, its logger at WARNING like the workers'."""
    logging.getLogger("core.delivery.log").setLevel(logging.WARNING)
    provider = LogProvider()
    platforms = (Platform.IOS, Platform.ANDROID, Platform.WEB)
    messages = [
        Outgoing(
            delivery_id=str(uuid.uuid4()),
            channel=Channel.PUSH,
            address=f"{i:064x}",
            title="bench",
            body="bench",
            platform=platforms[i % 3],
            data={},
            category="offers",
            unsubscribe_url=None,
        )  # fmt: skip
        for i in range(count)
    ]
    began = time.perf_counter()
    for message in messages:
        await provider.send(message)
    return time.perf_counter() - began
