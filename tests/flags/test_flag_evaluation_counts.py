"""Evaluations counted per flag and day in memory, added to feature_flag_analytics in one statement per
flush; a failed flush keeps its counts for the next, shutdown writes what is left, the bound holds."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
from sqlalchemy import event, select
from sqlalchemy.engine import Engine, make_url

from core.viewer import ANONYMOUS, Role, Viewer
from models.flags import FeatureFlag, FlagDailyAnalytics
from resolvers.flags.usage_counts import EvaluationCount, EvaluationCounts
from resolvers.flags.usage_writes import rollup_flag_usage
from tests.flags.conftest import StartFlags

CUSTOMER = Viewer(role=Role.CUSTOMER, user_id=5)
EVALUATE = 'query { evaluateFlags(context: {}, keys: ["on_flag", "off_flag", "unknown"]) { value } }'


async def _flags(live) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with live.sessionmaker() as session, session.begin():
        flags = [
            FeatureFlag(key="on_flag", name="On", category="ui", enabled=True),
            FeatureFlag(key="off_flag", name="Off", category="ui", enabled=False),
        ]
        session.add_all(flags)
        await session.flush()
        return {flag.key: flag.id for flag in flags}


async def _evaluate(live, running, times: int) -> None:  # type: ignore[no-untyped-def]
    for n in range(times):
        viewer = CUSTOMER if n % 2 else ANONYMOUS
        result = await live.execute(EVALUATE, viewer=viewer, services=running.services)
        assert result.errors is None, result.errors


async def _stored(live) -> dict[int, tuple[int, int]]:  # type: ignore[no-untyped-def]
    a = FlagDailyAnalytics
    async with live.sessionmaker() as session:
        rows = await session.execute(select(a.flag_id, a.evaluations, a.evaluations_enabled))
        return {flag_id: (total, enabled) for flag_id, total, enabled in rows}


async def test_evaluations_are_added_up_in_one_statement_per_flush(live, start_flags: StartFlags) -> None:  # type: ignore[no-untyped-def]
    ids = await _flags(live)
    running = await start_flags()

    # when the flags are evaluated five times, flushed, three more times, flushed again
    await _evaluate(live, running, 5)
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        assert await running.flags.flush() == 2
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    await _evaluate(live, running, 3)
    await running.flags.flush()

    # then one statement wrote each flush, today's rows hold the sums, the unknown key counted nowhere
    assert [s for s in seen if "feature_flag_analytics" in s] == seen and len(seen) == 1
    assert await _stored(live) == {ids["on_flag"]: (8, 8), ids["off_flag"]: (8, 0)}
    assert len(running.flags.counts) == 0


async def test_a_failed_flush_keeps_its_counts_for_the_next(live, start_flags: StartFlags) -> None:  # type: ignore[no-untyped-def]
    ids = await _flags(live)
    running = await start_flags(db_statement_timeout_ms=300)
    await _evaluate(live, running, 4)
    blocker = await asyncpg.connect(make_url(live.url).set(drivername="postgresql").render_as_string(False))
    try:
        # given the table locked by someone else: the flush's statement times out
        locking = blocker.transaction()
        await locking.start()
        await blocker.execute("LOCK TABLE feature_flag_analytics IN EXCLUSIVE MODE")
        assert await running.flags.flush() == 0
        assert len(running.flags.counts) == 2
        await locking.rollback()

        # when more are counted and the next flush gets through
        await _evaluate(live, running, 2)
        assert await running.flags.flush() == 2
    finally:
        await blocker.close()

    # then nothing was lost or counted twice
    assert await _stored(live) == {ids["on_flag"]: (6, 6), ids["off_flag"]: (6, 0)}


async def test_stopping_writes_what_is_still_counted(live, start_flags: StartFlags) -> None:  # type: ignore[no-untyped-def]
    ids = await _flags(live)
    running = await start_flags()
    await _evaluate(live, running, 3)

    await running.flags.stop()

    assert await _stored(live) == {ids["on_flag"]: (3, 3), ids["off_flag"]: (3, 0)}


async def test_the_rollup_leaves_the_evaluation_counts_alone(live, start_flags: StartFlags) -> None:  # type: ignore[no-untyped-def]
    ids = await _flags(live)
    running = await start_flags()
    await _evaluate(live, running, 2)
    await running.flags.flush()

    async with live.sessionmaker() as session, session.begin():
        await rollup_flag_usage(session, day=dt.datetime.now(dt.UTC).date())

    assert await _stored(live) == {ids["on_flag"]: (2, 2), ids["off_flag"]: (2, 0)}


def test_pending_counts_are_bounded() -> None:
    counts = EvaluationCounts(max_pending=2)
    day = dt.date(1970, 1, 1) + dt.timedelta(days=20_000)

    # two flag-days fit: the third flag's evaluation, and a flush's counts of another, are dropped
    counts.add(20_000, [(1, True), (2, False), (3, True), (1, True)])
    counts.give_back([EvaluationCount(flag_id=4, date=day, evaluations=7, enabled=1)])
    counts.give_back([EvaluationCount(flag_id=2, date=day, evaluations=5, enabled=5)])

    assert counts.dropped == 1 + 7
    assert sorted(counts.take(), key=lambda c: c.flag_id) == [
        EvaluationCount(flag_id=1, date=day, evaluations=2, enabled=2),
        EvaluationCount(flag_id=2, date=day, evaluations=6, enabled=5),
    ]
