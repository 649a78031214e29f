"""A worker killed (SIGKILL) in the middle of a campaign's schedule, and another started: the job is
tried again and the audience ends with exactly one notification per person, none lost."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text
from strawberry import relay

from core.settings import PROJECT_ROOT
from core.viewer import Role, Viewer
from tests.jobs.support import WAIT_S, fetch, wait_until
from tests.models import factories as f
from tests.support import child_environment

AUDIENCE = 5_000
START = "mutation ($id: ID!) { startCampaign(input: {id: $id}) { userErrors { code } } }"
CUSTOMERS = text("""
INSERT INTO users (email, role)
SELECT 'crash-' || n || '@example.com', 'customer' FROM generate_series(1, :count) AS n
""")
JOBS = "SELECT status::text, attempts FROM procrastinate_jobs WHERE task_name = $1"
COUNTS = (
    "SELECT count(*) AS rows, count(DISTINCT user_id) AS people FROM notifications WHERE campaign_id = $1"
)


def _worker(url: str, redis_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = child_environment(**{
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        # small batches: the schedule takes many transactions, so the kill lands between two of them
        "NOTIFICATION_SCHEDULE_BATCH": "50",
        # a silent worker counts as dead after 3 s, and the survivor looks every second
        "JOB_STALLED_AFTER_S": "3",
        "JOB_CRON_RETRY_STALLED": "* * * * * *",
        **{name: "" for name in ("JOB_CRON_ROLLUP_FLAG_USAGE", "JOB_CRON_PRUNE", "JOB_CRON_RECOMPUTE_RESULTS",
                                 "JOB_CRON_PRUNE_JOBS", "JOB_CRON_DELIVER_NOTIFICATIONS")},
    })  # fmt: skip
    with log.open("ab") as out:
        command = [sys.executable, "server.py", "worker"]
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out)


async def test_a_killed_worker_loses_nothing_and_duplicates_nothing(
    live,
    services: dict[str, str],
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    now = dt.datetime.now(dt.UTC)
    async with live.sessionmaker() as session, session.begin():
        await session.execute(CUSTOMERS, {"count": AUDIENCE})
        campaign = await f.make_campaign(
            session, type="push_notification", send_at_once=False,
            starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(days=7),
        )  # fmt: skip
    started = await live.execute(
        START, {"id": relay.to_base64("Campaign", campaign.id)}, viewer=Viewer(role=Role.ADMIN)
    )
    assert started.data["startCampaign"]["userErrors"] == []
    log = tmp_path / "workers.log"

    async def progress() -> tuple[int, int]:
        (row,) = await fetch(live.url, COUNTS, campaign.id)
        return int(row["rows"]), int(row["people"])

    first = _worker(live.url, services["redis_url"], log)
    try:

        async def begun() -> bool:
            return (await progress())[0] > 0

        await wait_until(begun, what="the first worker never began the schedule")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=WAIT_S)
        at_kill = await progress()
    finally:
        if first.poll() is None:
            first.kill()
    second = _worker(live.url, services["redis_url"], log)
    try:

        async def finished() -> bool:
            return (await progress())[0] >= AUDIENCE

        await wait_until(
            finished, what=f"the schedule never finished: {log.read_text(errors='replace')[-2000:]}"
        )
        jobs = await fetch(live.url, JOBS, "schedule-campaign-notifications")
    finally:
        second.terminate()
        second.wait(timeout=WAIT_S)

    # the kill came mid-schedule, the job ran again, and everyone has exactly one notification
    assert 0 < at_kill[0] < AUDIENCE
    assert [(j["status"], j["attempts"] >= 1) for j in jobs] == [("succeeded", True)]
    assert await progress() == (AUDIENCE, AUDIENCE)
