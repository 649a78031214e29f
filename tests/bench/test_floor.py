"""bench/floor.py answers the three bench documents with the server's `data`, byte for byte.

Both apps run in this process on one scratch database with a few committed rows: campaigns of several
statuses (with and without a merchant, experiments, variants and metrics), the reference flags and a
flag of our own targeting the customer's segment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from graphql import parse

from bench import floor_answers
from bench.documents import APP_CONTEXT, bearer, requests
from bench.floor import DOCUMENTS
from bench.floor import create_app as create_floor
from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from core.viewer import Role, Viewer
from schema import schema
from schema.extensions.cost import query_cost
from server import create_app as create_server
from tests.models import factories as f
from tests.transport.client import serving

SECRET = "bench-floor-test-secret-0123456789abcdef"
TODAY = dt.datetime.now(dt.UTC).date()
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


async def _seed(url: str, settings: Settings) -> dict[str, int]:
    engine = create_engine(url, settings, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            admin = await f.make_user(db, role="admin")
            customer = await f.make_user(db, role="customer")
            merchant = await f.make_merchant(db, city="Springfield")
            other = await f.make_merchant(db, city=None)
            schedule = {"starts_at": T0, "ends_at": T0 + dt.timedelta(days=400)}
            shown = [
                await f.make_campaign(
                    db,
                    name="beta",
                    status="running",
                    merchant_id=merchant.id,
                    budget=Decimal("1200.50"),
                    **schedule,
                ),
                await f.make_campaign(db, name="Alpha", status="running", type="cashback", **schedule),
                await f.make_campaign(db, name="alpha", status="running", merchant_id=other.id, **schedule),
            ]
            await f.make_campaign(db, name="Aardvark draft", merchant_id=merchant.id)
            test = await f.make_ab_test(db, campaign_id=shown[0].id, status="running")
            await f.make_ab_test_variant(db, test_id=test.id, key="alt", weight=400)
            await f.make_ab_test_variant(db, test_id=test.id, key="original", weight=600, is_control=True)
            await f.make_ab_test(db, campaign_id=shown[0].id)  # no variants yet
            for days, conversions, spend in ((0, 3, "10.00"), (3, 0, "5.25"), (45, 9, "1.00")):
                await f.make_campaign_daily(
                    db,
                    campaign_id=shown[0].id,
                    date=TODAY - dt.timedelta(days=days),
                    impressions=1000 + days,
                    clicks=37,
                    conversions=conversions,
                    revenue=Decimal("99.99"),
                    spend=Decimal(spend),
                )
            await f.make_campaign_daily(db, campaign_id=shown[2].id, date=TODAY, impressions=5)
            flag = await f.make_feature_flag(db, key="bench_split", enabled=True, rollout_percentage=50)
            await f.make_feature_flag_rollout(
                db, flag_id=flag.id, variant_key="a", weight=500, variant_value="A"
            )
            await f.make_feature_flag_rollout(db, flag_id=flag.id, variant_key="b", weight=500)
            await f.make_feature_flag_rollout(
                db, flag_id=flag.id, variant_key="vip", weight=1000, user_segment=APP_CONTEXT["segment"]
            )
            return {"admin": admin.id, "customer": customer.id}
    finally:
        await engine.dispose()


@pytest.fixture
async def apps(
    scratch_db_url: str, services: dict[str, str], redis_prefix: str
) -> AsyncIterator[SimpleNamespace]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        app_env="production",
        database_url=scratch_db_url,
        redis_url=services["redis_url"],
        redis_key_prefix=redis_prefix,
        jwt_secret=SECRET,
        rate_limit_bucket=10**9,
        rate_limit_refill_per_second=10**9,
        # the floor answers from the database every time: so must the server it is compared with
        response_cache=False,
    )
    users = await _seed(scratch_db_url, settings)
    async with serving(create_server(settings)) as server, serving(create_floor(settings)) as floor:
        yield SimpleNamespace(server=server, floor=floor, users=users, url=scratch_db_url, settings=settings)


def _headers(apps: SimpleNamespace, role: Role) -> dict[str, str]:
    user_id = apps.users["admin" if role is Role.ADMIN else "customer"]
    return {"authorization": bearer(SECRET, role=role, user_id=user_id)}


async def test_the_floor_answers_each_document_with_the_servers_data_bytes(apps: SimpleNamespace) -> None:
    answered = {}
    for request in requests(TODAY):
        headers = _headers(apps, request.role)
        server = await apps.server.post("/graphql", json=request.body, headers=headers)
        floor = await apps.floor.post("/graphql", json=request.body, headers=headers)
        assert server.status_code == floor.status_code == 200
        assert "errors" not in server.json(), server.json()
        server_data, floor_data = orjson.dumps(server.json()["data"]), orjson.dumps(floor.json()["data"])
        assert floor_data == server_data, request.name
        answered[request.name] = server.json()["data"]

    # the documents reached what the seed holds: the comparison covered more than empty lists
    page = answered["query 1 (campaigns page)"]["campaigns"]
    # (whether "Alpha" or "alpha" comes first is the database's collation: the same for both apps)
    nodes = {e["node"]["name"]: e["node"] for e in page["edges"]}
    assert page["totalCount"] == 3 and set(nodes) == {"Alpha", "alpha", "beta"}
    beta = nodes["beta"]
    assert [v["key"] for v in beta["experiments"][0]["variants"]] == ["original", "alt"]
    assert len(beta["dailyMetrics"]) == 2 and beta["performance"]["conversions"] == 3
    assert nodes["Alpha"]["merchant"] is None and nodes["alpha"]["merchant"]["city"] is None
    assert len(answered["flat list"]["campaigns"]["edges"]) == 4
    flags = {e["key"]: e for e in answered["evaluateFlags (customer)"]["evaluateFlags"]}
    assert flags["bench_split"]["variant"] == "vip" and flags["bench_split"]["reason"] == "TARGETING_MATCH"


async def test_the_floor_sends_the_servers_surface_headers(apps: SimpleNamespace) -> None:
    request = requests(TODAY)[1]
    headers = {**_headers(apps, request.role), "x-request-id": "bench-1"}
    server = await apps.server.post("/graphql", json=request.body, headers=headers)
    floor = await apps.floor.post("/graphql", json=request.body, headers=headers)
    names = ("x-request-id", "x-content-type-options", "x-frame-options", "referrer-policy")
    names += ("content-security-policy", "strict-transport-security", "cache-control", "content-type")
    assert {n: floor.headers.get(n) for n in names} == {n: server.headers.get(n) for n in names}
    assert floor.headers["x-request-id"] == "bench-1"
    # the same extensions but for the bucket's level, which the other app's draw lowered
    extensions = [response.json()["extensions"] for response in (server, floor)]
    for each in extensions:
        each["cost"]["throttleStatus"].pop("currentlyAvailable")
    assert extensions[1] == extensions[0]


async def test_the_floor_refuses_what_the_server_refuses(apps: SimpleNamespace) -> None:
    request = requests(TODAY)[0]
    bad_token = await apps.floor.post("/graphql", json=request.body, headers={"authorization": "Bearer nope"})
    customer = await apps.floor.post("/graphql", json=request.body, headers=_headers(apps, Role.CUSTOMER))
    assert bad_token.status_code == 401
    assert customer.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_the_floor_draws_the_cost_the_server_charges() -> None:
    for request in requests(TODAY):
        document = parse(request.body["query"])
        cost = query_cost(schema._schema, document, variables=request.body.get("variables"))
        assert DOCUMENTS[request.body["query"]][2] == cost, request.name


class _Counting:
    """An asyncpg connection that counts the statements sent through it."""

    def __init__(self, conn: Any) -> None:
        self.conn, self.statements = conn, 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.conn, name)
        if name not in {"fetch", "fetchval", "fetchrow", "execute"}:
            return method

        async def counted(*args: Any) -> Any:
            self.statements += 1
            return await method(*args)

        return counted


async def test_the_floor_runs_the_statements_it_says(apps: SimpleNamespace) -> None:
    import asyncpg

    conn = await asyncpg.connect(apps.url)
    try:
        for request in requests(TODAY):
            answer = DOCUMENTS[request.body["query"]][0]
            counting = _Counting(conn)
            viewer = Viewer(role=request.role, user_id=apps.users["customer"])
            await answer(counting, viewer, request.body.get("variables") or {})  # type: ignore[arg-type]
            assert counting.statements == floor_answers.FLOOR_STATEMENTS[answer.__name__], request.name
    finally:
        await conn.close()
