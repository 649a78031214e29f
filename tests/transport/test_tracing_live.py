"""One dashboard request to a running server (`server.py serve`, its own process) arrives at a local
OTLP/HTTP receiver as one trace (request -> operation -> loader batches -> SQL, and Redis) and is
counted on the same server's /metrics (latency, SQL statements, errors, pool), read as Prometheus
would: both ends of what an operator sees of one request."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from core.database import create_engine, create_sessionmaker
from core.metrics import OPERATION_DURATION
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role
from models.campaigns import Campaign
from models.merchants import Merchant
from models.users import User
from tests.metrics.support import parse, value
from tests.transport.conftest import serve
from tests.transport.otlp import otlp_receiver

DASHBOARD = """
query Dashboard($first: Int!, $range: DateRangeInput!) {
  campaigns(first: $first, filter: {status: [RUNNING, COMPLETED]}) {
    totalCount
    edges { node {
      id name status budget
      merchant { name city category { name colorCode } }
      experiments { key status variants { key weight } }
      dailyMetrics(range: $range) { date impressions clicks conversions revenue spend }
      performance(range: $range) { impressions clicks conversions revenue spend clickThroughRate roas roi }
    } }
  }
}
"""
SERVICE = "swipesavvy-live-test"
# How long the exporter may take to send (it batches every 100 ms here); waited for, not asserted on.
EXPORT_WAIT_S = 30
METRICS_TOKEN = "metrics-live-test-token"


async def _admin_with_a_campaign(database_url: str, settings: Settings) -> int:
    engine = create_engine(database_url, settings, pool_size=1)
    async with create_sessionmaker(engine)() as session, session.begin():
        admin = User(email="traces@example.com", name="Traces", role="admin")
        merchant = Merchant(code="M-TRACE", name="Traced Cafe", category_id=1, latitude=40.7, longitude=-74.0)
        session.add_all([admin, merchant])
        await session.flush()
        now = datetime.now(UTC)
        running = Campaign(
            name="Traced",
            type="push_notification",
            status="running",
            merchant_id=merchant.id,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=1),
        )
        session.add(running)
        admin_id = admin.id
    await engine.dispose()
    return admin_id


def _named(spans: list[Span], name: str) -> Span:
    (found,) = [s for s in spans if s.name == name]
    return found


def _below(spans: list[Span], top: Span) -> list[Span]:
    """Every span under `top`, at any depth."""
    found, parents = [], {top.span_id}
    while batch := [s for s in spans if s.parent_span_id in parents and s not in found]:
        found += batch
        parents = {s.span_id for s in batch}
    return found


def _children(spans: list[Span], parent: Span) -> list[Span]:
    return [s for s in spans if s.parent_span_id == parent.span_id]


async def test_a_dashboard_request_arrives_as_one_trace(
    settings: Settings, scratch_db_url: str, services: dict[str, str], tmp_path: Path
) -> None:
    admin_id = await _admin_with_a_campaign(scratch_db_url, settings)
    token = mint_access_token(
        secret=signing_secret(settings), user_id=admin_id, role=Role.ADMIN, ttl=timedelta(minutes=5)
    )
    today = datetime.now(UTC).date()
    variables = {"first": 10, "range": {"start": str(today - timedelta(days=6)), "end": str(today)}}
    log_file = tmp_path / "server.log"
    # This process answers Dashboard queries too (in-process tests earlier in the run): the server's
    # /metrics must count its own processes only.
    OPERATION_DURATION.labels(operation="Dashboard", type="query").observe(0.01)
    with otlp_receiver() as (endpoint, received):
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_SERVICE_NAME": SERVICE,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "APP_ENV": "production",
            "METRICS_TOKEN": METRICS_TOKEN,
        }
        with serve(scratch_db_url, services["redis_url"], log_file, **env) as base:
            async with httpx.AsyncClient(base_url=base) as client:
                response = await client.post(
                    "/graphql",
                    json={"query": DASHBOARD, "variables": variables},
                    headers={"authorization": f"Bearer {token}"},
                )
                broken = await client.post("/graphql", json={"query": "query Broken { nope }"})
                scrape = await client.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
            body = response.json()
            assert body["data"]["campaigns"]["totalCount"] == 1, body

            def dashboard_arrived(spans: list[tuple[str, Span]]) -> bool:
                return any(span.name == "query Dashboard" for _, span in spans)

            assert received.wait_for(dashboard_arrived, EXPORT_WAIT_S), received.spans

    assert scrape.status_code == 200, scrape.text
    samples = parse(scrape.text)
    dashboard = {"operation": "Dashboard", "type": "query"}
    assert value(samples, "graphql_operation_duration_seconds_count", **dashboard) == 1
    statements = value(samples, "graphql_sql_statements_sum", **dashboard)
    # The operation's statements on /metrics are the SQL spans below its span in the trace (the
    # instrumentation's "connect" span is a checkout, not a statement).
    spans = [span for _, span in received.spans]
    below = _below(spans, _named(spans, "query Dashboard"))
    sql = [
        s
        for s in below
        if s.name != "connect"
        and any(a.key == "db.system" and a.value.string_value == "postgresql" for a in s.attributes)
    ]
    assert statements >= 1 and statements == len(sql), (statements, [s.name for s in sql])
    assert value(samples, "graphql_sql_duration_seconds_count", **dashboard) == 1
    # "Broken" is no known document: its name gets no series of its own, its error is counted by code.
    assert not [labels for (name, labels) in samples if ("operation", "Broken") in labels]
    assert value(samples, "graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED") == 1
    assert value(samples, "db_pool_connections_in_use", pool="primary") == 0

    assert {service for service, _ in received.spans} == {SERVICE}
    operation = _named([s for _, s in received.spans], "query Dashboard")
    trace = [s for _, s in received.spans if s.trace_id == operation.trace_id]
    (request,) = [s for s in trace if s.kind == Span.SPAN_KIND_SERVER]
    assert operation.parent_span_id == request.span_id
    batches = [s for s in _children(trace, operation) if s.name.startswith("loader ")]
    assert "loader MerchantByIdLoader" in {s.name for s in batches}
    assert all(any(c.attributes for c in _children(trace, b)) for b in batches)  # each batch's SQL
    assert any(a.key == "db.system" and a.value.string_value == "redis" for s in trace for a in s.attributes)
    # The invalid request's error and its log line name the same trace.
    trace_id = broken.json()["errors"][0]["extensions"]["traceId"]
    lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.startswith("{")]
    assert any(line.get("trace_id") == trace_id for line in lines)
