"""The maintenance commands, run the way an operator runs them: `python server.py <command>`."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from cli import main
from core.settings import get_settings


@pytest.fixture
def scratch_env(scratch_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the command line at the scratch database (it starts nothing embedded then)."""
    monkeypatch.setenv("DATABASE_URL", scratch_db_url)
    get_settings.cache_clear()
    yield scratch_db_url
    get_settings.cache_clear()


def _run(sql: str, url: str) -> object:
    """One statement on the scratch database, committed (the command runs in its own process state)."""

    async def go() -> object:
        conn = await asyncpg.connect(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    return asyncio.run(go())


def test_prune_deletes_expired_idempotency_keys(scratch_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    # given one expired and one live key
    _run(
        "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at, expires_at) VALUES "
        "('user:1', 'old', 'f', now() - interval '3 days', now() - interval '2 days'), "
        "('user:1', 'new', 'f', now(), now() + interval '1 day')",
        scratch_env,
    )

    # when the operator prunes
    assert main(["prune"]) == 0

    # then only the expired one is gone, and the command said so
    assert _run("SELECT string_agg(key, ',') FROM idempotency_keys", scratch_env) == "new"
    assert "idempotency_keys: 1" in capsys.readouterr().out


ROLLUP_ROWS = (
    "SELECT string_agg(row(flag_id, date, total_checks, enabled_count, updated_at)::text, ';')"
    " FROM feature_flag_analytics"
)


def test_rollup_flag_usage_twice_gives_the_same_rows(scratch_env: str) -> None:
    day = dt.date.today() - dt.timedelta(days=1)
    _run(
        "INSERT INTO feature_flag_usage (flag_id, user_id, app_type, accessed_at, value_used) "
        f"SELECT id, NULL, 'mobile', '{day.isoformat()}T12:00:00+00', true"
        " FROM feature_flags WHERE key = 'dark_mode'",
        scratch_env,
    )

    assert main(["rollup-flag-usage", "--date", day.isoformat()]) == 0
    first = _run(ROLLUP_ROWS, scratch_env)
    assert main(["rollup-flag-usage", "--date", day.isoformat()]) == 0
    second = _run(ROLLUP_ROWS, scratch_env)

    # identical rows, updated_at included: the rerun changed nothing
    assert first == second
    assert _run("SELECT total_checks * 10 + enabled_count FROM feature_flag_analytics", scratch_env) == 11


def test_recompute_results_runs_on_an_empty_database(
    scratch_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recompute-results"]) == 0
    assert "results stored for 0 experiment(s)" in capsys.readouterr().out
