"""With tracing on, a worker runs each job inside a span of its own (core/jobs/tracing.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from core.database import create_engine, create_sessionmaker
from core.jobs.enqueue import enqueue_in
from core.settings import Settings
from tests.jobs.support import MARK, job_settings, marking_app, running_worker, wait_for_status
from tests.spans import UNUSED_ENDPOINT, cleared_spans


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    yield from cleared_spans()


async def test_a_job_runs_in_its_own_span(
    scratch_db_url: str,
    settings: Settings,
    spans: InMemorySpanExporter,
) -> None:
    worker_settings = job_settings(settings, scratch_db_url, otel_exporter_otlp_endpoint=UNUSED_ENDPOINT)
    engine = create_engine(scratch_db_url, settings, pool_size=1)
    async with running_worker(worker_settings, marking_app(worker_settings)):
        async with create_sessionmaker(engine)() as session, session.begin():
            job_id = await enqueue_in(session, MARK, {"label": "traced"}, queue="tests")
        assert await wait_for_status(scratch_db_url, job_id, "succeeded", "failed") == "succeeded"
    await engine.dispose()

    (job,) = [s for s in spans.get_finished_spans() if s.name == f"job {MARK}"]
    assert job.parent is None
    assert dict(job.attributes or {}) == {"job.id": job_id, "job.task": MARK, "job.attempt": 1}
