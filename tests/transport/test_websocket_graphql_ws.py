"""The npm graphql-ws client (the exact versions of tests/transport/ws/package.json, protocol
graphql-transport-ws) on Node's `ws`, against live servers sharing one PostgreSQL and one Redis."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from core.settings import Settings
from core.viewer import Role
from tests.transport.conftest import serve
from tests.transport.ws.node import subscribed
from tests.transport.ws.world import (
    DEADLINE_S,
    RENAME,
    SCHEDULE,
    STATUS,
    World,
    make_world,
    post,
    token,
    two_servers,
)

AUDIT = """
subscription ($filter: AuditLogFilterInput) {
  auditLogAppended(filter: $filter) { action entityType actorLabel after }
}
"""


@pytest.fixture
async def world(settings: Settings, scratch_db_url: str) -> World:
    return await make_world(settings, scratch_db_url)


async def test_writes_on_one_server_reach_subscribers_on_the_other(
    world: World, scratch_db_url: str, services: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    with two_servers(scratch_db_url, services["redis_url"], tmp_path, redis_prefix) as (a, b):
        status = subscribed(b, world.merchant, STATUS, {"id": world.campaign})
        audit = subscribed(b, world.admin, AUDIT, {"filter": {"entityType": "campaign"}})
        async with status as merchant_page, audit as admin_log, asyncio.timeout(DEADLINE_S):
            # given the merchant's page on B showing the campaign, and an admin's audit log on B
            now = await merchant_page.next()
            assert now["payload"]["data"]["campaignStatusChanged"]["status"] == "DRAFT"
            # (the audit subscription is live once it answers a write: renames until it has)
            first_entry = None
            for attempt in range(20):
                await post(a, world.marketer, RENAME, {"id": world.campaign, "name": f"Spring {attempt}"})
                try:
                    async with asyncio.timeout(0.5):
                        first_entry = await admin_log.next()
                    break
                except TimeoutError:
                    continue
            assert first_entry is not None
            # when a marketer schedules it on A
            await post(a, world.marketer, SCHEDULE, {"id": world.campaign})
            scheduled = await merchant_page.next()
            entries = [await admin_log.next()]
            while entries[-1]["payload"]["data"]["auditLogAppended"]["action"] != "campaign.scheduled":
                entries.append(await admin_log.next())

    # then the page got the new status, with the name as committed
    campaign = scheduled["payload"]["data"]["campaignStatusChanged"]
    assert campaign["status"] == "SCHEDULED" and campaign["name"].startswith("Spring ")
    # and the admin each audit entry once, in order, as it was written on A
    assert first_entry["payload"]["data"]["auditLogAppended"]["action"] == "campaign.update"
    scheduling = entries[-1]["payload"]["data"]["auditLogAppended"]
    assert scheduling["entityType"] == "campaign" and scheduling["after"]["status"] == "scheduled"
    assert scheduling["actorLabel"].startswith("user:")


async def test_what_a_viewer_may_not_see_is_refused(
    world: World, scratch_db_url: str, services: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    log = tmp_path / "server.log"
    with serve(scratch_db_url, services["redis_url"], log, REDIS_KEY_PREFIX=redis_prefix) as base:
        async with asyncio.timeout(DEADLINE_S):
            # another merchant's campaign: refused as if it did not exist
            async with subscribed(base, world.merchant, STATUS, {"id": world.other_campaign}) as theirs:
                refused = await theirs.next()
            # the audit log is for admins only
            async with subscribed(base, world.marketer, AUDIT, {"filter": None}) as not_admin:
                forbidden = await not_admin.next()

    assert refused["type"] == "error"
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["NOT_FOUND"]
    assert forbidden["type"] == "error"
    assert [e["extensions"]["code"] for e in forbidden["errors"]] == ["FORBIDDEN"]


async def test_an_expired_token_closes_the_connection_with_4403(
    world: World, settings: Settings, scratch_db_url: str, services: dict[str, str], tmp_path: Path,
    redis_prefix: str,
) -> None:  # fmt: skip
    log = tmp_path / "server.log"
    with serve(scratch_db_url, services["redis_url"], log, REDIS_KEY_PREFIX=redis_prefix) as base:
        short = token(settings, Role.SERVICE, user_id=None, ttl=dt.timedelta(seconds=3))
        async with (
            subscribed(base, short, STATUS, {"id": world.campaign}) as page,
            asyncio.timeout(DEADLINE_S),
        ):
            now = await page.next()
            closed = await page.next()

    assert now["type"] == "next"
    assert closed["type"] == "closed" and closed["code"] == 4403
