"""One seeded, read-only demo state for the whole differential comparison, and the pool over it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from core import database_admin as databases
from tests.differential.compare import Comparison
from tests.differential.harness import comparing
from tests.differential.world import World, load_world, seeded_database


@pytest.fixture(scope="session")
async def differential_state(
    server_url: str, template_db_url: str, test_db_names: dict[str, str]
) -> AsyncIterator[tuple[str, World]]:
    name = f"{test_db_names['scratch_prefix']}differential"
    url = await seeded_database(server_url, name, template=make_url(template_db_url).database)
    try:
        yield url, await load_world(url)
    finally:
        await databases.drop_database(server_url, name)


@pytest.fixture(scope="session")
def world(differential_state: tuple[str, World]) -> World:
    return differential_state[1]


@pytest.fixture(scope="session")
async def comparison(differential_state: tuple[str, World]) -> AsyncIterator[Comparison]:
    url, world = differential_state
    async with comparing(url, world) as found:
        yield found
