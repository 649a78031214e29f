"""The periodic jobs that replaced the cron list: registered from the settings, each tick run once
across any number of workers, by the same code as the command line."""

from __future__ import annotations

from core.settings import Settings
from jobs import maintenance, notifications
from tests.jobs.support import app_for, fetch, job_settings, running_worker, wait_until

EVERY_SECOND = "* * * * * *"
CRON_LIST = (maintenance.ROLLUP_FLAG_USAGE, maintenance.PRUNE, maintenance.RECOMPUTE_RESULTS)


def test_the_cron_list_and_the_engines_housekeeping_are_scheduled_by_default(settings: Settings) -> None:
    app = app_for(Settings.model_validate({**settings.model_dump(), "job_cron_recompute_results": ""}))

    scheduled = {task_name: p.cron for (task_name, _), p in app.periodic_registry.periodic_tasks.items()}

    assert scheduled == {
        maintenance.ROLLUP_FLAG_USAGE: settings.job_cron_rollup_flag_usage,
        maintenance.PRUNE: settings.job_cron_prune,
        maintenance.RETRY_STALLED: settings.job_cron_retry_stalled,
        maintenance.PRUNE_JOBS: settings.job_cron_prune_jobs,
        notifications.DELIVER: settings.job_cron_deliver_notifications,
    }  # recompute-results' schedule was turned off


async def test_each_tick_runs_once_across_two_workers(scratch_db_url: str, settings: Settings) -> None:
    # given two workers (two apps, two pools, as on two machines) with the cron list every second
    schedules = {
        "job_cron_rollup_flag_usage": EVERY_SECOND,
        "job_cron_prune": EVERY_SECOND,
        "job_cron_recompute_results": EVERY_SECOND,
    }
    first = job_settings(settings, scratch_db_url, **schedules)
    second = job_settings(settings, scratch_db_url, **schedules)

    async def two_ticks_each_done() -> bool:
        rows = await fetch(
            scratch_db_url,
            "SELECT task_name, count(*) AS n FROM procrastinate_jobs WHERE status = 'succeeded' GROUP BY 1",
        )
        done = {r["task_name"]: r["n"] for r in rows}
        return all(done.get(name, 0) >= 2 for name in CRON_LIST)

    # when they run for a few ticks
    async with running_worker(first, app_for(first)), running_worker(second, app_for(second)):
        await wait_until(two_ticks_each_done, what="the periodic jobs never ran twice each")

    # then no tick of any task was deferred twice, and every job ran the command line's code to success
    jobs = await fetch(
        scratch_db_url,
        "SELECT task_name, (args->>'timestamp')::bigint AS tick, status::text FROM procrastinate_jobs",
    )
    ticks = [(j["task_name"], j["tick"]) for j in jobs]
    assert len(ticks) == len(set(ticks))
    assert {j["task_name"] for j in jobs} == set(CRON_LIST)
    assert {j["status"] for j in jobs} <= {"succeeded", "todo", "doing"}
    assert await fetch(scratch_db_url, "SELECT 1 FROM job_errors") == []
