"""What the cross-viewer proof runs on: the seeded demo state (read-only, like tests/differential's,
but a database of its own: two session fixtures may not share one database name), viewers beyond the
seed's one per role (a second merchant, customer and marketer, API keys), the cases, and a runner
executing them in process with or without a response cache."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import asyncpg
import graphql
import orjson
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import database_admin as databases
from core.context import RequestContext
from core.database import create_engine, create_sessionmaker
from core.services import Services
from core.settings import Settings
from core.viewer import Role, Viewer
from schema import schema as api
from schema.caching.hints import Hints
from tests.differential import corpus as generated
from tests.differential.answers import Answer, Case, answer
from tests.differential.documents import collected_cases
from tests.differential.harness import POOL_SIZE, comparison_settings, corpus_cases
from tests.differential.world import World, load_world, seeded_database

# Generated queries per role taken from the committed corpus (the documents of tests/ and the README
# are taken whole).
CORPUS_PER_ROLE = 4
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


def cases_of(seeded: Seeded) -> list[Case]:
    """Each distinct operation once (the viewers are the pairs', not the case's role)."""
    documents, _ = collected_cases(api._schema, seeded.world)
    corpus, warning = corpus_cases(generated.CORPUS, seeded.world, CORPUS_PER_ROLE)
    if warning:
        print(f"warning: {warning}")
    hints = Hints(api._schema)
    found: dict[tuple[str, bytes, str | None], Case] = {}
    for case in [*documents, *corpus]:
        if not may_be_kept(hints, case):
            continue  # kept for nobody: no entry to meet
        variables = orjson.dumps(case.variables or {}, option=orjson.OPT_SORT_KEYS)
        found.setdefault((case.document, variables, case.operation_name), case)
    return list(found.values())


def may_be_kept(hints: Hints, case: Case) -> bool:
    document = graphql.parse(case.document)
    definitions = document.definitions
    fragments = {d.name.value: d for d in definitions if isinstance(d, graphql.FragmentDefinitionNode)}
    operations = [
        d
        for d in definitions
        if isinstance(d, graphql.OperationDefinitionNode)
        and (case.operation_name is None or (d.name is not None and d.name.value == case.operation_name))
    ]
    return len(operations) == 1 and hints.policy(operations[0], fragments).cacheable


class Runner:
    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self._fresh: dict[tuple[str, int], Answer] = {}

    async def execute(self, viewer: Viewer, case: Case, services: Services) -> Any:
        context = RequestContext(
            request=None,
            settings=self.settings,
            sessionmaker=self.sessionmaker,
            write_sessionmaker=self.sessionmaker,
            redis=None,
            viewer=viewer,
            request_id=uuid.uuid4().hex,
            client_ip="127.0.0.1",
            services=services,
        )
        return await api.execute(
            case.document,
            variable_values=case.variables,
            context_value=context,
            operation_name=case.operation_name,
        )

    async def fresh(self, name: str, viewer: Viewer, index: int, case: Case) -> Answer:
        """The viewer's answer with the cache off (asked once per viewer and case)."""
        found = self._fresh.get((name, index))
        if found is None:
            found = self._fresh[(name, index)] = answer(await self.execute(viewer, case, Services()), case)
        return found


def cache_report(result: Any) -> dict[str, Any]:
    return (result.extensions or {}).get("cache") or {}


def cached_answer(result: Any, case: Case) -> Answer:
    """The answer as a client would read it: a hit's data is the stored JSON, spliced in as it was."""
    data = result.data
    if isinstance(data, orjson.Fragment):
        data = orjson.loads(orjson.dumps(data))
    return answer(SimpleNamespace(data=data, errors=result.errors), case)


@pytest.fixture(scope="module", name="runner")
async def runner_fixture(seeded: Seeded) -> AsyncIterator[Runner]:
    engine = create_engine(seeded.url, comparison_settings(seeded.url), pool_size=POOL_SIZE)
    try:
        yield Runner(comparison_settings(seeded.url, response_cache=True), create_sessionmaker(engine))
    finally:
        await engine.dispose()
