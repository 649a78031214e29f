"""The seeded demo state the cross-viewer proof reads (read-only, like tests/differential's, but a
database of its own: two session fixtures may not share one database name), and viewers beyond the
seed's one-per-role: a second merchant, customer and marketer, and API keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from core import database_admin as databases
from core.viewer import Role, Viewer
from tests.differential.world import World, load_world, seeded_database

# Ids no seeded row uses: an API key's id only keys its caches and names it in audits.
SERVICE_KEY_ID = 900_001
MERCHANT_KEY_ID = 900_002


@dataclass(frozen=True)
class Seeded:
    url: str
    world: World
    viewers: dict[str, Viewer]


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _others(url: str, world: World) -> dict[str, Viewer]:
    """Viewers beside the seed's staff accounts, from real rows: another customer (with accounts of
    their own), another merchant (with campaigns), a second marketer."""
    customer = world.viewer(Role.CUSTOMER.value)
    merchant = world.viewer(Role.MERCHANT.value)
    conn = await asyncpg.connect(_dsn(url))
    try:
        customers = [
            row[0]
            for row in await conn.fetch(
                "SELECT u.id FROM users u WHERE u.role = 'customer' AND u.id <> $1 AND u.deleted_at IS NULL"
                " AND EXISTS (SELECT 1 FROM accounts a WHERE a.user_id = u.id)"
                " AND EXISTS (SELECT 1 FROM rewards_ledger r WHERE r.user_id = u.id)"
                " ORDER BY u.id LIMIT 3",
                customer.user_id,
            )
        ]
        other_merchant = await conn.fetchval(
            "SELECT merchant_id FROM campaigns WHERE merchant_id <> $1"
            " GROUP BY merchant_id ORDER BY count(*) DESC, merchant_id LIMIT 1",
            merchant.merchant_id,
        )
    finally:
        await conn.close()
    assert len(customers) == 3 and other_merchant is not None, "the demo seed changed"
    return {
        "customer2": Viewer(role=Role.CUSTOMER, user_id=customers[0]),
        # A person of merchant staff at another merchant (the seed has one merchant account).
        "merchant2": Viewer(role=Role.MERCHANT, user_id=customers[1], merchant_id=other_merchant),
        "marketer2": Viewer(role=Role.MARKETER, user_id=customers[2]),
        "service_key": Viewer(role=Role.SERVICE, api_key_id=SERVICE_KEY_ID),
        # A key scoped to the same merchant as the seed's merchant account.
        "merchant_key": Viewer(
            role=Role.MERCHANT, merchant_id=merchant.merchant_id, api_key_id=MERCHANT_KEY_ID
        ),
    }


@pytest.fixture(scope="session", name="seeded")
async def seeded_state(
    server_url: str, template_db_url: str, test_db_names: dict[str, str]
) -> AsyncIterator[Seeded]:
    name = f"{test_db_names['scratch_prefix']}cache_seeded"
    url = await seeded_database(server_url, name, template=make_url(template_db_url).database)
    try:
        world = await load_world(url)
        viewers = {role.value: world.viewer(role.value) for role in Role}
        viewers.update(await _others(url, world))
        yield Seeded(url=url, world=world, viewers=viewers)
    finally:
        await databases.drop_database(server_url, name)
