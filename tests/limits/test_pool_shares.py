"""One caller cannot take a worker's pool: a cap per caller and for all anonymous callers, and a
shorter statement timeout for anonymous reads.

Before, 22 anonymous requests that each held a backend (a 480 KB search, 10 s of statement
timeout) took the whole pool, and a signed-in customer's trivial query took 8.8 s. Here a lock on
the merchants table stands in for a slow statement: every anonymous `merchants` query holds its
backend until the lock is released, and pg_stat_activity shows how many there are at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from core.context import RequestContext
from core.pool_shares import pool_shares
from core.settings import Settings
from core.viewer import ANONYMOUS, Role, Viewer
from tests.limits.support import codes

MERCHANTS = "{ merchants { edges { node { id } } } }"
CATEGORIES = "{ merchantCategories { id } }"
CUSTOMER = Viewer(role=Role.CUSTOMER, user_id=1)
REQUESTS = 22
# Backends of this database waiting for the lock the test holds.
BLOCKED = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
)
SAMPLE_S = 0.02
# How long the test waits for the blocked requests to pile up (not asserted upon: only their number).
SETTLE_S = 1.5


@asynccontextmanager
async def merchants_locked(pooled: Any) -> AsyncIterator[AsyncConnection]:
    """The merchants table locked by another transaction; yields a connection to sample with."""
    async with pooled.engine.connect() as locker, pooled.engine.connect() as sampler:
        transaction = await locker.begin()
        await locker.execute(text("LOCK TABLE merchants IN ACCESS EXCLUSIVE MODE"))
        try:
            yield sampler
        finally:
            await transaction.rollback()


async def _most_blocked(sampler: AsyncConnection) -> int:
    """The most backends seen waiting for the lock at once, sampled while they pile up."""
    most = 0
    for _ in range(int(SETTLE_S / SAMPLE_S)):
        most = max(most, int((await sampler.execute(BLOCKED)).scalar_one()))
        await sampler.commit()  # a fresh snapshot of pg_stat_activity each time
        await asyncio.sleep(SAMPLE_S)
    return most


def _capped(settings: Settings, *, per_caller: int, anonymous: int) -> Settings:
    return settings.model_copy(
        update={
            "db_connections_per_caller": per_caller,
            "db_connections_anonymous": anonymous,
            "db_connection_wait_s": 60.0,
            "db_anonymous_statement_timeout_ms": 0,
        }
    )


@pytest.mark.parametrize(
    ("addresses", "cap"),
    [
        pytest.param(1, 2, id="from one address: its cap of 2"),
        pytest.param(REQUESTS, 3, id="from 22: all anonymous, 3"),
    ],
)
async def test_anonymous_heavy_requests_hold_at_most_their_share(
    pooled: Any, settings: Settings, addresses: int, cap: int
) -> None:
    # given a cap of 2 connections per caller and 3 for all anonymous callers, on a pool of 60
    capped = _capped(settings, per_caller=2, anonymous=3)
    async with merchants_locked(pooled) as sampler:
        # when 22 anonymous requests that hold their backend arrive at once
        heavy = [
            asyncio.create_task(
                pooled.execute(MERCHANTS, client_ip=f"198.51.100.{n % addresses + 1}", settings=capped)
            )
            for n in range(REQUESTS)
        ]
        most = await _most_blocked(sampler)
        # then no more backends than the cap ever wait on their behalf
        assert most == cap
        # and a signed-in customer's trivial query is answered while they are still held
        trivial = await pooled.execute(CATEGORIES, viewer=CUSTOMER, settings=capped)
        assert trivial.errors is None
        assert not any(task.done() for task in heavy)
    # and once the statements can finish, every heavy request is answered too
    results = await asyncio.gather(*heavy)
    assert [r.errors for r in results] == [None] * REQUESTS
    assert pool_shares(per_caller=2, anonymous=3, wait_s=60.0).anonymous_peak == cap
    assert len(pool_shares(per_caller=2, anonymous=3, wait_s=60.0)) == 0


async def test_a_caller_that_waits_too_long_for_its_share_is_told_to_retry(
    pooled: Any, settings: Settings
) -> None:
    # given a cap of one connection per caller and no time to wait for one
    capped = _capped(settings, per_caller=1, anonymous=8).model_copy(update={"db_connection_wait_s": 0.0})
    async with merchants_locked(pooled) as sampler:
        # when two anonymous requests of one address arrive, the first holding its backend
        first = asyncio.create_task(pooled.execute(MERCHANTS, settings=capped))
        while int((await sampler.execute(BLOCKED)).scalar_one()) == 0:
            await sampler.commit()
            await asyncio.sleep(SAMPLE_S)
        second = await pooled.execute(MERCHANTS, settings=capped)
    # then the second is refused, coded, with when to retry, and the first is answered
    assert codes(second) == ["RATE_LIMITED"]
    assert second.errors[0].extensions["retryAfter"] >= 1  # type: ignore[index]
    assert (await first).errors is None


async def test_anonymous_reads_run_under_the_shorter_statement_timeout(
    pooled: Any, settings: Settings
) -> None:
    # given an anonymous statement timeout of 300 ms (signed-in callers keep the pool's 10 s)
    short = settings.model_copy(update={"db_anonymous_statement_timeout_ms": 300})
    async with merchants_locked(pooled) as sampler:
        # when an anonymous caller and a customer both read the locked table
        customer = asyncio.create_task(pooled.execute(MERCHANTS, viewer=CUSTOMER, settings=short))
        anonymous = await pooled.execute(MERCHANTS, settings=short)
        # then PostgreSQL cancelled the anonymous statement, while the customer's still waits
        assert anonymous.errors is not None and anonymous.data is None
        assert not customer.done()
        assert int((await sampler.execute(BLOCKED)).scalar_one()) == 1
    # and the customer's is answered once the lock is gone
    assert (await customer).errors is None


async def test_the_timeout_is_set_in_the_read_transaction_only(pooled: Any, settings: Settings) -> None:
    short = settings.model_copy(update={"db_anonymous_statement_timeout_ms": 300})

    async def timeout_of(viewer: Viewer) -> str:
        context = RequestContext(
            request=None, settings=short, sessionmaker=pooled.sessionmaker, redis=None, viewer=viewer
        )
        try:
            async with context.read_session() as session:
                return str((await session.execute(text("SHOW statement_timeout"))).scalar_one())
        finally:
            await context.close()  # what the end of an operation does (schema/extensions/read_snapshot.py)

    assert await timeout_of(ANONYMOUS) == "300ms"
    assert await timeout_of(CUSTOMER) == "10s"
    # the pooled connection went back with the pool's own timeout
    async with pooled.engine.connect() as conn:
        assert (await conn.execute(text("SHOW statement_timeout"))).scalar_one() == "10s"
