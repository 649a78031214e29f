"""bench/subscriptions.py at a tiny scale, so it cannot rot: both servers live, every subscriber of
each gets every round's event once, and the tables print. The figures themselves are not asserted."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bench import subscriptions
from bench.floor import asyncpg_dsn
from bench.subscription_rounds import WARMUP_ROUNDS
from bench.subscription_rows import NAME

ROUNDS = 2


async def test_the_bench_delivers_every_round_to_every_subscriber_of_both_servers(
    scratch_db_url: str, services: dict[str, str], redis_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--subscribers", "6,10", "--rounds", str(ROUNDS), "--database-url", scratch_db_url]
    argv += ["--redis-url", services["redis_url"], "--redis-prefix", redis_prefix]

    figures, failed = await asyncio.to_thread(subscriptions.main, argv)

    assert failed == {"server": 0, "relay": 0}
    for name, references in (("server", ("updatedAt", "channel", "answer")), ("relay", ("publish",))):
        measured = figures[name]
        assert (measured.missing, measured.wrong) == (0, 0), name
        assert sorted(measured.rss_kib) == [0, 6, 10]
        assert len(measured.cpu_ms) == ROUNDS
        for reference in references:
            rounds = measured.latency_ms[reference]
            assert [len(each) for each in rounds] == [6] * ROUNDS, (name, reference)
            assert all(value >= 0 for each in rounds for value in each), (name, reference)
    # every round (the uncounted ones too) paused or started the campaign through the API, in turn
    mutations = ROUNDS + WARMUP_ROUNDS
    conn = await asyncpg.connect(asyncpg_dsn(scratch_db_url))
    try:
        status = await conn.fetchval("SELECT status FROM campaigns WHERE name = $1", NAME)
        actions = await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity_type = 'campaign'")
    finally:
        await conn.close()
    assert (actions, status) == (mutations, "running" if mutations % 2 == 0 else "paused")
    printed = capsys.readouterr().out
    assert "RSS of the worker with idle subscribers" in printed
    assert "p99 within 3x the relay's" in printed
    assert "CPU time of the process per round" in printed
