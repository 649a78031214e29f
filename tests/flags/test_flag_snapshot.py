"""The live flag snapshot in one process: reloaded by a commit (never a rollback), by the version poll
when nobody announced the change, without Redis; evaluateFlags runs no SQL while it is current."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from core.viewer import ANONYMOUS, Role, Viewer
from models.flags import FeatureFlag
from tests.flags.conftest import StartFlags

ADMIN = Viewer(role=Role.ADMIN)
DEADLINE_S = 10.0
EVALUATE = """
query ($keys: [String!]) {
  evaluateFlags(context: {sessionId: "s-1"}, keys: $keys) { key value reason errorCode }
}
"""
TOGGLE = """
mutation ($key: String!, $on: Boolean!) {
  toggleFlag(input: {key: $key, enabled: $on, reason: "test"}) { flag { enabled } userErrors { code } }
}
"""
CREATE = """
mutation ($key: String!) {
  createFlag(input: {key: $key, name: "Again", category: UI}) { flag { id } userErrors { code } }
}
"""


async def _flag(live, key: str = "live_flag", *, enabled: bool = False) -> None:  # type: ignore[no-untyped-def]
    async with live.sessionmaker() as session, session.begin():
        session.add(FeatureFlag(key=key, name=key, category="ui", enabled=enabled))


async def _value(live, services, key: str = "live_flag") -> bool:  # type: ignore[no-untyped-def]
    result = await live.execute(EVALUATE, {"keys": [key]}, viewer=ANONYMOUS, services=services)
    assert result.errors is None, result.errors
    return bool(result.data["evaluateFlags"][0]["value"])


async def _raw_sql(url: str, statement: str) -> None:
    """A change made as an administrator in psql would make it: no API, no announcement."""
    conn = await asyncpg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _eventually(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not await check():
        assert time.monotonic() < deadline, "the change did not arrive within the deadline"
        await asyncio.sleep(0.05)


@contextmanager
def _statements() -> Iterator[list[str]]:
    """Every statement any engine of this process runs while the block runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


async def test_a_committed_flag_write_reloads_the_snapshot_before_the_mutation_answers(
    live, start_flags: StartFlags
) -> None:  # type: ignore[no-untyped-def]
    # given a running snapshot (no poll) holding a flag that is off
    await _flag(live)
    running = await start_flags()
    before = running.flags.current
    assert before is not None and not await _value(live, running.services)

    # when the flag is toggled on through the API
    result = await live.execute(
        TOGGLE, {"key": "live_flag", "on": True}, viewer=ADMIN, services=running.services
    )

    # then by the time the mutation answers, the snapshot holds the new version, evaluation says on,
    # and the other workers were told
    assert result.errors is None and result.data["toggleFlag"]["userErrors"] == []
    after = running.flags.current
    assert after is not None and after.version > before.version
    assert await _value(live, running.services)
    assert running.flags.stats.announced == 1


async def test_a_rolled_back_write_reloads_nothing(live, start_flags: StartFlags) -> None:  # type: ignore[no-untyped-def]
    # given a running snapshot and a flag whose key a second creation will find taken
    await _flag(live, "taken")
    running = await start_flags()
    version, reloads = running.flags.current.version, running.flags.stats.reloads  # type: ignore[union-attr]

    # when a mutation writes to feature_flags (its INSERT ... ON CONFLICT ran) and then rolls back
    result = await live.execute(CREATE, {"key": "taken"}, viewer=ADMIN, services=running.services)
    assert result.data["createFlag"]["userErrors"] == [{"code": "TAKEN"}]

    # then nobody was told, nothing reloaded, and the version it bumped was rolled back with it
    assert running.flags.stats.reloads == reloads and running.flags.stats.announced == 0
    await running.flags.poll()
    assert running.flags.stats.reloads == reloads
    assert running.flags.current.version == version  # type: ignore[union-attr]


async def test_the_poll_catches_a_raw_sql_change_nobody_announced(live, start_flags: StartFlags) -> None:  # type: ignore[no-untyped-def]
    # given a snapshot polling the version, and a flag that is off
    await _flag(live)
    running = await start_flags(poll_s=0.05)
    assert not await _value(live, running.services)

    # when an administrator switches it on in SQL (no API, no message)
    await _raw_sql(live.url, "UPDATE feature_flags SET enabled = true WHERE key = 'live_flag'")

    # then evaluation follows, found by the poll: no message was heard
    await _eventually(lambda: _value(live, running.services))
    assert running.flags.stats.heard == 0 and running.flags.stats.polls > 0


async def test_with_redis_down_nothing_fails_and_the_poll_carries_changes(
    live, start_flags: StartFlags
) -> None:  # type: ignore[no-untyped-def]
    # given a snapshot started while Redis is unreachable
    await _flag(live)
    await _flag(live, "other_flag")
    running = await start_flags(poll_s=0.05, redis_down=True)

    # then it loaded, and a mutation still commits and reloads this worker (the announcement is lost)
    assert not await _value(live, running.services)
    result = await live.execute(
        TOGGLE, {"key": "live_flag", "on": True}, viewer=ADMIN, services=running.services
    )
    assert result.errors is None and result.data["toggleFlag"]["userErrors"] == []
    assert await _value(live, running.services)
    assert running.flags.stats.announced == 0

    # and a change made elsewhere arrives through the poll
    await _raw_sql(live.url, "UPDATE feature_flags SET enabled = true WHERE key = 'other_flag'")
    await _eventually(lambda: _value(live, running.services, "other_flag"))


async def test_a_message_on_the_channel_reloads(live, start_flags: StartFlags, redis_client) -> None:  # type: ignore[no-untyped-def]
    # given a snapshot listening (no poll), and a change made in SQL
    await _flag(live)
    running = await start_flags()
    await _raw_sql(live.url, "UPDATE feature_flags SET enabled = true WHERE key = 'live_flag'")
    assert not await _value(live, running.services)

    # when another worker announces a change
    async def announced() -> bool:
        await redis_client.publish(running.flags.channel, b"1")
        return await _value(live, running.services)

    # then this one reloads (the subscription may take a moment to start: announce until it does)
    await _eventually(announced)
    assert running.flags.stats.heard >= 1 and running.flags.stats.polls == 0


async def test_evaluation_from_the_snapshot_runs_no_sql(live, start_flags: StartFlags) -> None:  # type: ignore[no-untyped-def]
    await _flag(live, enabled=True)
    running = await start_flags()

    with _statements() as seen:
        result = await live.execute(EVALUATE, {"keys": None}, viewer=ANONYMOUS, services=running.services)

    assert result.errors is None and any(r["key"] == "live_flag" for r in result.data["evaluateFlags"])
    assert seen == []


async def test_a_snapshot_unconfirmed_for_too_long_is_not_used(live, start_flags: StartFlags) -> None:  # type: ignore[no-untyped-def]
    # given a snapshot whose outer bound has passed with no check confirming it (no poll runs)
    await _flag(live, enabled=True)
    running = await start_flags(flag_snapshot_max_age_s=0.05)
    await asyncio.sleep(0.1)

    # then evaluation reads the database instead, with the same answer
    with _statements() as seen:
        assert await _value(live, running.services)
    assert seen, "evaluation should have read the database"

    # and a check confirms it again
    await running.flags.poll()
    with _statements() as seen:
        assert await _value(live, running.services)
    assert seen == []


async def test_concurrent_reloads_coalesce(live, start_flags: StartFlags) -> None:  # type: ignore[no-untyped-def]
    running = await start_flags()
    before = running.flags.stats.reloads

    # when a reload is running and twenty more are asked for meanwhile
    first = asyncio.create_task(running.flags.reload())
    while running.flags.stats.reloads == before:
        await asyncio.sleep(0)
    await asyncio.gather(first, *(running.flags.reload() for _ in range(20)))

    # then the twenty shared the one run after it
    assert running.flags.stats.reloads - before == 2
