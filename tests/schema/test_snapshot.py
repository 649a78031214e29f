"""One snapshot, one connection per operation (issue 10): every read of an operation runs on one
pooled connection in one REPEATABLE READ READ ONLY transaction, so a totalCount, its page and the
nested batches agree and a request never holds two connections; a mutation ends the snapshot before
it writes, and reads after its commit see it; the operation's end gives the connection back, even
when the operation is cancelled.

Operations run in process on a real pool over a scratch database, each with its own context (as
transport/http.py builds them). The pool's events count checkouts and connects (tests/schema/pool_use.py);
a probe asks PostgreSQL, after each statement and on that statement's own connection, which backend
and which transaction ran it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from strawberry import relay

from core import context as request_context
from core.context import RequestContext
from core.database import create_engine, create_sessionmaker
from core.pool_shares import pool_shares
from core.settings import Settings
from core.urls import async_database_url
from core.viewer import ANONYMOUS, Role, Viewer
from models.campaigns import Campaign
from schema import schema
from tests.models import factories as f
from tests.schema.pool_use import pool_use

ADMIN = Viewer(role=Role.ADMIN, user_id=None)
CAMPAIGNS = 3
# A page, its totalCount and nested batches of four loaders, dispatched together level by level.
DASHBOARD = """{ campaigns(first: 10) { totalCount edges { node {
  id merchant { name category { name } } experiments { key variants { key } } performance { impressions }
} } } }"""
PAGE_AND_COUNT = "{ campaigns(first: 50) { edges { node { id } } totalCount } }"
MERCHANTS = "{ merchants(first: 10) { totalCount edges { node { name category { name } } } } }"
PROBE = (
    "SELECT pg_backend_pid(), current_setting('transaction_isolation'),"
    " current_setting('transaction_read_only'), pg_current_snapshot()::text, now()"
)


@pytest.fixture
async def pool(scratch_db_url: str, settings: Settings) -> AsyncIterator[SimpleNamespace]:
    """`execute(document, variables, viewer=..., settings=...)` runs one operation on its own context;
    `engine` is the pool those operations use, `sessionmaker` commits (to create rows)."""
    engine = create_engine(scratch_db_url, settings, pool_size=10)
    sessionmaker = create_sessionmaker(engine)

    async def execute(
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        viewer: Viewer = ADMIN,
        settings: Settings = settings,
    ) -> Any:
        context = RequestContext(
            request=None,
            settings=settings,
            sessionmaker=sessionmaker,
            write_sessionmaker=sessionmaker,
            redis=None,
            viewer=viewer,
            request_id=uuid.uuid4().hex,
            client_ip="192.0.2.7",
        )
        return await schema.execute(document, variable_values=variables, context_value=context)

    async with sessionmaker() as session, session.begin():
        for _ in range(CAMPAIGNS):
            merchant = await f.make_merchant(session)
            campaign = await f.make_campaign(session, merchant_id=merchant.id)
            experiment = await f.make_ab_test(session, campaign_id=campaign.id)
            await f.make_ab_test_variant(session, test_id=experiment.id)
    try:
        yield SimpleNamespace(execute=execute, engine=engine, sessionmaker=sessionmaker, url=scratch_db_url)
    finally:
        await engine.dispose()


@contextmanager
def probing(pool: SimpleNamespace) -> Iterator[list[tuple[Any, ...]]]:
    """(statement, backend pid, isolation, read only, snapshot, transaction start) of every statement."""
    seen: list[tuple[Any, ...]] = []

    def probe(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # A cursor of its own, on the statement's connection: no event fires, its rows stay as they are.
        own = conn.connection.cursor()
        try:
            own.execute(PROBE)
            seen.append((statement, *own.fetchone()))
        finally:
            own.close()

    event.listen(pool.engine.sync_engine, "after_cursor_execute", probe)
    try:
        yield seen
    finally:
        event.remove(pool.engine.sync_engine, "after_cursor_execute", probe)


def _shares(settings: Settings) -> Any:
    """This worker's shares of the pool under these settings (what a RequestContext takes slots of)."""
    s = settings
    return pool_shares(
        per_caller=s.db_connections_per_caller,
        anonymous=s.db_connections_anonymous,
        wait_s=s.db_connection_wait_s,
    )


async def test_every_statement_of_a_query_runs_in_one_read_only_snapshot(pool: SimpleNamespace) -> None:
    # when the dashboard query runs: a page, its totalCount and batches of four loaders
    with probing(pool) as probes:
        result = await pool.execute(DASHBOARD)
    assert result.errors is None
    assert len(result.data["campaigns"]["edges"]) == CAMPAIGNS
    # then every statement ran on one backend, in one transaction (one start, one snapshot) ...
    statements = [p[0] for p in probes]
    assert len(statements) >= 7, statements
    assert len({p[1:] for p in probes}) == 1
    # ... that is REPEATABLE READ and read only
    _, _, isolation, read_only, _, _ = probes[0]
    assert (isolation, read_only) == ("repeatable read", "on")


async def test_one_operation_checks_out_one_connection_for_all_its_batches(pool: SimpleNamespace) -> None:
    with pool_use(pool.engine) as use:
        result = await pool.execute(DASHBOARD)
    assert result.errors is None
    assert (use.checkouts, use.peak) == (1, 1)
    # and the operation's end gave it back
    assert use.held == 0
    assert pool.engine.sync_engine.pool.checkedout() == 0


async def test_a_row_committed_between_two_statements_is_not_seen_by_the_later_one(
    pool: SimpleNamespace,
) -> None:
    other = create_async_engine(async_database_url(pool.url), poolclass=NullPool)
    committed: list[str] = []

    def commit_a_campaign(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # After the page's statement, before the totalCount's: another connection commits a campaign.
        if committed or "FROM campaigns" not in statement:
            return
        with other.sync_engine.begin() as writer:
            writer.execute(
                Campaign.__table__.insert().values(name="Meanwhile", type="email_offer", status="draft")
            )
        committed.append(statement)

    event.listen(pool.engine.sync_engine, "after_cursor_execute", commit_a_campaign)
    try:
        result = await pool.execute(PAGE_AND_COUNT)
    finally:
        event.remove(pool.engine.sync_engine, "after_cursor_execute", commit_a_campaign)
        await other.dispose()

    assert result.errors is None and committed
    # the count agrees with the page it counts: the campaign committed in between is in neither
    page = result.data["campaigns"]
    assert len(page["edges"]) == page["totalCount"] == CAMPAIGNS
    # though it was committed: the next operation's snapshot sees it
    again = await pool.execute(PAGE_AND_COUNT)
    assert again.data["campaigns"]["totalCount"] == CAMPAIGNS + 1


async def test_an_anonymous_operation_sets_its_shorter_timeout_once(
    pool: SimpleNamespace, settings: Settings
) -> None:
    short = settings.model_copy(update={"db_anonymous_statement_timeout_ms": 2_000})
    with probing(pool) as probes, pool_use(pool.engine) as use:
        result = await pool.execute(MERCHANTS, viewer=ANONYMOUS, settings=short)
    assert result.errors is None
    assert len(result.data["merchants"]["edges"]) == CAMPAIGNS
    statements = [p[0] for p in probes]
    # the page, its count and the categories' batch, after one SET LOCAL for all of them
    assert len(statements) == 4
    assert sum("set_config('statement_timeout'" in s for s in statements) == 1
    assert "set_config" in statements[0]
    assert use.checkouts == 1


async def test_a_callers_share_of_the_pool_is_one_slot_per_operation(
    pool: SimpleNamespace, settings: Settings
) -> None:
    # given one connection per caller and no time to wait for another
    one = settings.model_copy(update={"db_connections_per_caller": 1, "db_connection_wait_s": 0.0})
    # when one operation's batches of four loaders are dispatched together
    result = await pool.execute(DASHBOARD, settings=one)
    # then none of them was refused for want of a second slot
    assert result.errors is None
    assert _shares(one).caller_peak == 1


CREATE_TWO = """
mutation ($c: ID!, $v: [VariantInput!]!) {
  first: createExperiment(input: {key: "first", name: "First", campaignId: $c, variants: $v}) {
    experiment { campaign { experiments { key } } } userErrors { code }
  }
  second: createExperiment(input: {key: "second", name: "Second", campaignId: $c, variants: $v}) {
    experiment { campaign { experiments { key } } } userErrors { code }
  }
}
"""
VARIANTS = [
    {"key": "control", "name": "Control", "weight": 500, "isControl": True},
    {"key": "treatment", "name": "Treatment", "weight": 500},
]


async def test_reads_after_each_commit_see_it_and_never_beside_a_write(pool: SimpleNamespace) -> None:
    async with pool.sessionmaker() as session, session.begin():
        campaign = await f.make_campaign(session)
    variables = {"c": relay.to_base64("Campaign", campaign.id), "v": VARIANTS}

    # when one operation creates an experiment, reads its campaign's, and creates another
    with pool_use(pool.engine) as use:
        result = await pool.execute(CREATE_TWO, variables)

    assert result.errors is None
    keys = {
        name: sorted(e["key"] for e in result.data[name]["experiment"]["campaign"]["experiments"])
        for name in ("first", "second")
    }
    # then the first payload saw the first commit, and the second a fresh snapshot with both
    assert keys == {"first": ["first"], "second": ["first", "second"]}
    # and the snapshot the first payload read in was ended before the second write began
    assert use.peak == 1
    assert use.checkouts == 4  # write, payload snapshot, write, payload snapshot
    assert pool.engine.sync_engine.pool.checkedout() == 0


BLOCKED = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
)


async def test_a_cancelled_operation_gives_its_connection_back(
    pool: SimpleNamespace, settings: Settings
) -> None:
    no_short_timeout = settings.model_copy(update={"db_anonymous_statement_timeout_ms": 0})
    async with pool.engine.connect() as locker, pool.engine.connect() as sampler:
        transaction = await locker.begin()
        await locker.execute(text("LOCK TABLE merchants IN ACCESS EXCLUSIVE MODE"))
        # given an operation whose snapshot's statement waits for the lock
        running = asyncio.create_task(pool.execute(MERCHANTS, viewer=ANONYMOUS, settings=no_short_timeout))
        while int((await sampler.execute(BLOCKED)).scalar_one()) == 0:
            await sampler.commit()
            await asyncio.sleep(0.02)
        # when it is cancelled (a timeout, a client gone)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        await transaction.rollback()
    # then, once the snapshot's ending has run, no connection and no pool slot is held
    await asyncio.gather(*request_context._ENDING)
    assert pool.engine.sync_engine.pool.checkedout() == 0
    assert len(_shares(no_short_timeout)) == 0  # no caller holds or waits for a slot
    # and the next operation reads normally
    assert (await pool.execute(MERCHANTS)).errors is None


async def test_nothing_reads_on_after_its_operation_ended(pool: SimpleNamespace, settings: Settings) -> None:
    context = RequestContext(
        request=None, settings=settings, sessionmaker=pool.sessionmaker, redis=None, viewer=ADMIN
    )
    async with context.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Campaign)) == CAMPAIGNS
    await context.close()
    assert pool.engine.sync_engine.pool.checkedout() == 0
    # a batch outliving its operation cannot open a snapshot nobody would end
    with pytest.raises(RuntimeError, match="ended"):
        async with context.read_session():
            pass
    assert pool.engine.sync_engine.pool.checkedout() == 0
