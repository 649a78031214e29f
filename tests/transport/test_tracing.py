"""Traces (core/tracing.py) recorded by the SDK's in-memory exporter: a request through the app
is request -> operation -> loader batch -> SQL, a mutation has its transaction's span, errors and
log lines carry the trace id; with tracing off nothing is installed and nothing is recorded."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_trace_id
from strawberry import relay

from core import tracing
from core.database import create_engine, create_sessionmaker
from core.logging import JsonFormatter, RedactingFilter
from core.settings import PROJECT_ROOT, Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role
from models.users import User
from server import create_app
from tests.spans import UNUSED_ENDPOINT, cleared_spans
from tests.transport.client import serving

CATEGORY = "query Category($id: ID!) { node(id: $id) { ... on MerchantCategory { name } } }"
CREATE = (
    'mutation Create { createCampaign(input: {name: "Traced", type: PUSH_NOTIFICATION}) '
    "{ campaign { id } userErrors { code } } }"
)
INVALID = "query Broken { noSuchField }"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    yield from cleared_spans()


def _traced(settings: Settings, redis_prefix: str, **update: object) -> Settings:
    return settings.model_copy(
        update={"otel_exporter_otlp_endpoint": UNUSED_ENDPOINT, "redis_key_prefix": redis_prefix, **update}
    )


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def _is_sql(span: ReadableSpan) -> bool:
    attributes = span.attributes or {}
    return "db.system" in attributes or "db.system.name" in attributes


async def test_a_query_is_request_operation_loader_batch_and_sql(
    settings: Settings, redis_prefix: str, spans: InMemorySpanExporter
) -> None:
    variables = {"id": relay.to_base64("MerchantCategory", 1)}
    async with serving(create_app(_traced(settings, redis_prefix))) as client:
        response = await client.post("/graphql", json={"query": CATEGORY, "variables": variables})
    assert response.json()["data"]["node"]["name"], response.json()

    finished = list(spans.get_finished_spans())
    (request,) = [s for s in finished if s.kind is SpanKind.SERVER]
    assert request.parent is None
    (operation,) = [s for s in _children(finished, request) if s.name == "query Category"]
    assert operation.attributes is not None
    assert operation.attributes["graphql.operation.type"] == "query"
    assert operation.attributes["graphql.operation.name"] == "Category"
    assert int(operation.attributes["graphql.operation.cost"]) > 0  # type: ignore[arg-type]
    (batch,) = [s for s in _children(finished, operation) if s.name == "loader MerchantCategoryByIdLoader"]
    assert batch.attributes is not None and batch.attributes["loader.keys"] == 1
    assert any(_is_sql(s) for s in _children(finished, batch))
    # The rate limit's token bucket, through the redis instrumentation, in the same trace.
    redis_spans = [s for s in finished if (s.attributes or {}).get("db.system") == "redis"]
    assert redis_spans and {s.context.trace_id for s in redis_spans} == {request.context.trace_id}


async def test_a_mutation_has_its_transaction_span(
    settings: Settings, scratch_db_url: str, redis_prefix: str, spans: InMemorySpanExporter
) -> None:
    app_settings = _traced(settings, redis_prefix, database_url=scratch_db_url)
    engine = create_engine(scratch_db_url, app_settings, pool_size=1)
    async with create_sessionmaker(engine)() as session, session.begin():
        user = User(email="tracer@example.com", name="Tracer", role="admin")
        session.add(user)
        await session.flush()
        user_id = user.id
    await engine.dispose()
    token = mint_access_token(
        secret=signing_secret(app_settings), user_id=user_id, role=Role.ADMIN, ttl=timedelta(minutes=5)
    )
    async with serving(create_app(app_settings)) as client:
        response = await client.post(
            "/graphql", json={"query": CREATE}, headers={"authorization": f"Bearer {token}"}
        )
    assert response.json()["data"]["createCampaign"]["userErrors"] == [], response.json()

    finished = list(spans.get_finished_spans())
    (operation,) = [s for s in finished if s.name == "mutation Create"]
    (transaction,) = [s for s in _children(finished, operation) if s.name.startswith("mutation.transaction")]
    assert transaction.name == "mutation.transaction createCampaign"
    assert (transaction.attributes or {})["mutation.outcome"] == "committed"
    statements = [str((s.attributes or {}).get("db.statement", "")) for s in _children(finished, transaction)]
    assert any(statement.startswith("INSERT INTO campaigns") for statement in statements), statements


async def test_errors_carry_the_trace_id(
    settings: Settings, redis_prefix: str, spans: InMemorySpanExporter
) -> None:
    async with serving(create_app(_traced(settings, redis_prefix))) as client:
        response = await client.post("/graphql", json={"query": INVALID})
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    (request,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert error["extensions"]["traceId"] == format_trace_id(request.context.trace_id)
    assert error["extensions"]["requestId"]
    (operation,) = [s for s in spans.get_finished_spans() if s.name == "query Broken"]
    assert (operation.attributes or {})["graphql.error.codes"] == ("GRAPHQL_VALIDATION_FAILED",)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.addFilter(RedactingFilter())
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_log_lines_inside_a_request_carry_its_trace_id(
    settings: Settings, redis_prefix: str, spans: InMemorySpanExporter
) -> None:
    handler = _Lines()
    logger = logging.getLogger("swipesavvy.graphql")  # ErrorCoding logs each coded error here
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        async with serving(create_app(_traced(settings, redis_prefix))) as client:
            response = await client.post("/graphql", json={"query": INVALID})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    trace_id = response.json()["errors"][0]["extensions"]["traceId"]
    entries = [json.loads(line) for line in handler.lines]
    assert entries and all(entry["trace_id"] == trace_id for entry in entries), entries


async def test_off_nothing_is_installed_and_nothing_recorded(
    settings: Settings, redis_prefix: str, spans: InMemorySpanExporter
) -> None:
    off = settings.model_copy(update={"redis_key_prefix": redis_prefix})
    assert not off.tracing_enabled
    app = create_app(off)
    assert all(m.cls.__module__ != "opentelemetry.instrumentation.asgi" for m in app.user_middleware)
    async with serving(app) as client:
        assert tracing.active_tracer() is None
        response = await client.post("/graphql", json={"query": INVALID})
    assert "traceId" not in response.json()["errors"][0]["extensions"]
    assert spans.get_finished_spans() == ()


OFF_PROCESS = """
import asyncio, sys
from core.settings import Settings
from server import create_app
from tests.transport.client import serving

async def main():
    async with serving(create_app(Settings(_env_file=None))) as client:
        await client.post("/graphql", json={"query": "{ merchantCategories { name } }"})

asyncio.run(main())
from opentelemetry import trace
# (redis-py itself imports the SDK's metrics when it is installed: not ours to count.)
ours = ("opentelemetry.sdk.trace", "opentelemetry.instrumentation", "opentelemetry.exporter")
loaded = sorted(m for m in sys.modules if m.startswith(ours))
print(type(trace.get_tracer_provider()).__name__, loaded)
"""


def test_off_a_fresh_process_imports_no_sdk_and_sets_no_provider(settings: Settings) -> None:
    env = {"DATABASE_URL": settings.database_url or "", "REDIS_URL": settings.redis_url or ""}
    done = subprocess.run(
        [sys.executable, "-c", OFF_PROCESS],
        cwd=PROJECT_ROOT,
        env={**_base_env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "ProxyTracerProvider []"


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
