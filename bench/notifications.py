"""A campaign to every customer of the bench scale: its schedule with one worker, its delivery with two.

    .venv/bin/python -m bench.notifications [--workers 2] [--batch 500] [--concurrency 1]
                                            [--database-url URL] [--redis-url URL] [--redis-prefix P]

Runs on a copy of the bench database (`swipesavvy_bench`, 100,000 users, seeded the first time;
`--database-url` names another source, e.g. a test's small one), made with CREATE DATABASE … TEMPLATE
and dropped at the end: nothing it writes (campaign, notifications, deliveries, jobs) outlives it.

1. Scheduling: a running push_notification campaign (send_at_once false, no target segment: every
   customer) scheduled in this process by schedule_campaign, a committed transaction per batch of
   NOTIFICATION_SCHEDULE_BATCH, as the schedule job runs it. Baseline: one INSERT … SELECT of the same
   audience's rows (user, campaign, deliver_at = now()) into a temporary copy of the table. Target:
   under a minute.
2. Delivery: the schedule again with send_at_once true (all due now), then --workers processes of
   `python server.py worker` (LOG_LEVEL=WARNING: the log provider's INFO line per message is not
   written; periodic jobs off) drain it, one delivery loop each (JOB_CONCURRENCY=--concurrency,
   NOTIFICATION_BATCH=--batch). Figure: notifications from the first notification's sent_at to the
   last sent_at (notification or delivery). Baseline: a bare loop calling LogProvider.send as many
   times. Target: >= 2,000 notifications/s.
Prints figures; asserts nothing. `main` returns them (tests/bench/test_notifications.py).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from contextlib import ExitStack
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench import notifications_runs as runs
from bench.harness import bench_database, print_table
from core import database_admin as databases
from core.database import create_engine, create_sessionmaker
from core.embedded import EmbeddedServices
from core.settings import PROJECT_ROOT, Settings
from core.urls import redact, with_database
from models.campaigns import Campaign

SCHEDULE_TARGET_S = 60.0
DELIVERY_TARGET = 2_000.0


def _copy_name(source: str) -> str:
    return f"{source}_notify"[:63]


async def _copy(server_url: str, source: str) -> str:
    """The source database, copied file by file (seconds, where WAL_LOG would take minutes)."""
    name = _copy_name(source)
    await databases.drop_database(server_url, name)
    conn = await databases._admin(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}" STRATEGY FILE_COPY')
    finally:
        await conn.close()
    return with_database(server_url, name)


async def _campaign(sessions: Any, *, at_once: bool) -> int:
    async with sessions() as session, session.begin():
        now = dt.datetime.now(dt.UTC)
        campaign = Campaign(name="bench notifications", type="push_notification", status="running")
        campaign.starts_at, campaign.ends_at = now, now + dt.timedelta(days=30)
        campaign.send_at_once = at_once
        session.add(campaign)
        await session.flush()
        return int(campaign.id)


async def _restart_at_once(sessions: Any, campaign_id: int) -> None:
    """The scheduled rows removed and the campaign made an at-once send: the next schedule writes
    them all due now. Anything else due in the copy is cancelled so the workers send only these."""
    async with sessions() as session, session.begin():
        await session.execute(text("DELETE FROM notifications WHERE campaign_id = :c"), {"c": campaign_id})
        await session.execute(
            text("UPDATE campaigns SET send_at_once = true WHERE id = :c"), {"c": campaign_id}
        )
        await session.execute(
            text(
                "UPDATE notifications SET cancelled_at = now() WHERE sent_at IS NULL AND cancelled_at IS NULL"
            )
        )
        await session.execute(
            text("UPDATE notification_deliveries SET status = 'skipped' WHERE status = 'pending'")
        )


async def _run(url: str, args: argparse.Namespace, worker_env: dict[str, str]) -> dict[str, Any]:
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    engine = create_engine(url, settings, pool_size=2)
    sessions = create_sessionmaker(engine)
    try:
        campaign_id = await _campaign(sessions, at_once=False)
        seconds, rows, skipped = await runs.schedule(sessions, campaign_id, settings)
        base_s, base_rows = await runs.baseline_insert(sessions, campaign_id)
        scheduled = runs.Scheduled(
            seconds, rows, skipped, await runs.duplicates(sessions, campaign_id), base_s, base_rows
        )
        await _restart_at_once(sessions, campaign_id)
        at_once_s, at_once_rows, at_once_skipped = await runs.schedule(sessions, campaign_id, settings)
        env = {**worker_env, "DATABASE_URL": url, "NOTIFICATION_BATCH": str(args.batch)}
        env["JOB_CONCURRENCY"] = str(args.concurrency)
        due = dt.datetime.now(dt.UTC)
        with runs.workers(args.workers, env):
            wall, unsent, busiest = await runs.deliver(
                sessions, campaign_id, due=due, loops=args.workers, timeout_s=args.timeout
            )
        sent = await runs.delivered(sessions, campaign_id, due=due, wall=wall)
        sent.busiest = busiest
        sent.baseline_seconds = await runs.baseline_sends(sent.notifications)
        after = await runs.duplicates(sessions, campaign_id)
    finally:
        await engine.dispose()
    return {
        "scheduled": scheduled, "at_once": (at_once_s, at_once_rows, at_once_skipped),
        "delivered": sent, "unsent": unsent, "duplicates_after": after,
    }  # fmt: skip


def _timed(seconds: float, rows: int) -> str:
    return f"{seconds:.2f} s  {rows:,} rows  {_rate(rows, seconds)}"


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "n/a"


def report(figures: dict[str, Any], args: argparse.Namespace) -> None:
    s: runs.Scheduled = figures["scheduled"]
    at_once_s, at_once_rows, at_once_skipped = figures["at_once"]
    skipped = ", ".join(f"{k} {v:,}" for k, v in sorted(s.skipped.items())) or "none"
    print_table(
        f"Scheduling, one worker (in process; target < {SCHEDULE_TARGET_S:.0f} s)",
        [
            ("schedule_campaign (best time)", _timed(s.seconds, s.rows)),
            ("baseline INSERT … SELECT", _timed(s.baseline_seconds, s.baseline_rows)),
            ("ratio (time / baseline)", f"{s.seconds / s.baseline_seconds:.1f}x"),
            ("skipped by reason", skipped),
            ("duplicates per (campaign, user)", f"{s.duplicates} (must be 0)"),
            ("target met", "yes" if s.seconds < SCHEDULE_TARGET_S else "NO"),
            ("schedule_campaign (at once)", f"{at_once_s:.2f} s  {at_once_rows:,} rows, skipped "
             f"{dict(at_once_skipped) or 'none'}"),
        ],
    )  # fmt: skip
    d: runs.Delivered = figures["delivered"]
    rate = d.notifications / d.seconds if d.seconds > 0 else 0.0
    base = d.notifications / d.baseline_seconds if d.baseline_seconds > 0 else 0.0
    print_table(
        f"Delivery, {args.workers} worker processes, log provider, LOG_LEVEL=WARNING "
        f"(target >= {DELIVERY_TARGET:,.0f} notifications/s)",
        [
            ("workers running a loop at once", f"{d.busiest} (most seen while polling)"),
            ("notifications sent", f"{d.notifications:,} (due but unsent at the end: {figures['unsent']})"),
            ("not due yet (quiet hours)", f"{d.not_due:,}"),
            ("first to last sent_at", f"{d.seconds:.2f} s  {rate:,.0f}/s"),
            ("first deferral to all done", _timed(d.wall_seconds, d.notifications)),
            ("baseline LogProvider.send loop", f"{d.baseline_seconds:.3f} s  {base:,.0f}/s"),
            ("ratio (rate / baseline)", f"{rate / base:.3f}" if base else "n/a"),
            ("target met", "yes" if rate >= DELIVERY_TARGET else "NO"),
            ("repeats receivers dropped", f"{d.repeats} (sends beyond a delivery's first, same delivery id)"),
            ("duplicates per (campaign, user)", f"{figures['duplicates_after']} (must be 0)"),
        ],
    )  # fmt: skip
    print_table(
        "Deliveries by channel, status, reason, provider",
        [(" ".join(str(v or "-") for v in row[:4]), f"{row[4]:,}") for row in d.outcomes],
    )
    print(f"\nbatch {args.batch}, JOB_CONCURRENCY {args.concurrency}, machine CPUs {_cpus()}")


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes delivering")
    parser.add_argument("--batch", type=int, default=500, help="NOTIFICATION_BATCH of the workers")
    parser.add_argument("--concurrency", type=int, default=1, help="JOB_CONCURRENCY of the workers")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds the delivery may take")
    parser.add_argument("--database-url", help="source database (default: the bench-scale one)")
    parser.add_argument("--redis-url")
    parser.add_argument("--redis-prefix", default="bench:notifications:")
    args = parser.parse_args(argv)
    settings = Settings()
    with ExitStack() as stack:
        source = args.database_url or stack.enter_context(bench_database(settings))
        server_url = with_database(source, "postgres")
        name = str(make_url(source).database)
        redis_url = args.redis_url or settings.redis_url
        if not redis_url:
            embedded = EmbeddedServices(data_dir=PROJECT_ROOT / ".data" / "bench-redis", database_name="")
            redis_url = embedded.start_redis()
            stack.callback(embedded.stop)
        url = asyncio.run(_copy(server_url, name))
        stack.callback(lambda: asyncio.run(databases.drop_database(server_url, _copy_name(name))))
        print(f"copy: {redact(url)}", file=sys.stderr)
        worker_env = {"REDIS_URL": redis_url, "REDIS_KEY_PREFIX": args.redis_prefix}
        figures = asyncio.run(_run(url, args, worker_env))
    report(figures, args)
    return figures


if __name__ == "__main__":
    main()
