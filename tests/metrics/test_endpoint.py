"""/metrics in this process (the app on its lifespan): who may read it, and what one request adds."""

from __future__ import annotations

from core.metrics_hooks import record_breaker_state
from core.metrics_labels import ANONYMOUS, OTHER, operation_label, operation_names_of
from core.settings import AppEnv, Settings
from tests.metrics.support import parse, value
from tests.transport.client import client_for

NAMED_QUERY = "query Dashboard { merchantCategories { name } }"


async def test_production_without_a_token_has_no_metrics(settings: Settings) -> None:
    production = settings.model_copy(update={"app_env": AppEnv.PRODUCTION, "metrics_token": None})
    async with client_for(production) as client:
        response = await client.get("/metrics")
    assert response.status_code == 404


async def test_a_token_is_required_once_set(settings: Settings) -> None:
    guarded = settings.model_copy(update={"app_env": AppEnv.PRODUCTION, "metrics_token": "s3cret"})
    async with client_for(guarded) as client:
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"authorization": "Bearer nope"})
        right = await client.get("/metrics", headers={"authorization": "Bearer s3cret"})
    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert "# TYPE db_pool_waiting_requests gauge" in right.text


async def test_a_request_adds_its_latency_sql_and_pool_samples(settings: Settings) -> None:
    async with client_for(settings) as client:
        before = parse((await client.get("/metrics")).text)
        response = await client.post("/graphql", json={"query": NAMED_QUERY})
        assert response.status_code == 200, response.text
        after = parse((await client.get("/metrics")).text)
    labels = {"operation": "Dashboard", "type": "query"}
    count = "graphql_operation_duration_seconds_count"
    assert value(after, count, **labels) == value(before, count, **labels) + 1
    statements = "graphql_sql_statements_sum"
    assert value(after, statements, **labels) >= value(before, statements, **labels) + 1
    assert ("db_pool_connections_in_use", frozenset({("pool", "primary")})) in after


async def test_errors_are_counted_by_code(settings: Settings) -> None:
    async with client_for(settings) as client:
        before = parse((await client.get("/metrics")).text)
        await client.post("/graphql", json={"query": "{ noSuchField }"})
        after = parse((await client.get("/metrics")).text)
    name = "graphql_errors_total"
    code = "GRAPHQL_VALIDATION_FAILED"
    assert value(after, name, code=code) == value(before, name, code=code) + 1


def test_unknown_operation_names_share_one_label() -> None:
    assert operation_label("Dashboard") == "Dashboard"
    assert operation_label("x1f9a") == OTHER
    assert operation_label(None) == ANONYMOUS
    assert operation_names_of(["query Home { a } mutation Save { b }", "{ c }", "not graphql"]) == {
        "Home",
        "Save",
    }


async def test_breaker_transitions_move_one_circuit(settings: Settings) -> None:
    record_breaker_state("test_breaker", "closed", circuit="a")
    record_breaker_state("test_breaker", "closed", circuit="b")
    record_breaker_state("test_breaker", "opened", circuit="a")
    async with client_for(settings) as client:
        samples = parse((await client.get("/metrics")).text)
    assert value(samples, "breaker_circuits", breaker="test_breaker", state="closed") == 1
    assert value(samples, "breaker_circuits", breaker="test_breaker", state="opened") == 1


async def test_response_cache_lookups_count_hits_and_misses(settings: Settings, redis_prefix: str) -> None:
    # Reference data with a public cache hint: the first ask misses and is kept, the second hits.
    query = "query Dashboard { merchantCategories { name colorCode } }"
    async with client_for(settings.model_copy(update={"redis_key_prefix": redis_prefix})) as client:
        before = parse((await client.get("/metrics")).text)
        first = await client.post("/graphql", json={"query": query})
        second = await client.post("/graphql", json={"query": query})
        after = parse((await client.get("/metrics")).text)
    assert first.json()["extensions"]["cache"]["hit"] is False
    assert second.json()["extensions"]["cache"]["hit"] is True
    name = "cache_lookups_total"
    for result in ("hit", "miss"):
        assert value(after, name, cache="response", result=result) == (
            value(before, name, cache="response", result=result) + 1
        )
