"""The SDK's in-memory exporter as this test process's tracer provider (core/tracing.py uses one
provider per process, as the API allows): installed once, cleared around each test
(each test module's `spans` fixture yields from `cleared_spans`)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from core import tracing

# Nothing listens there: with the in-memory provider installed no OTLP exporter is made.
UNUSED_ENDPOINT = "http://127.0.0.1:1"


@cache
def memory_exporter() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install_provider(provider)
    return exporter


def cleared_spans() -> Iterator[InMemorySpanExporter]:
    """The body of a test module's `spans` fixture: the exporter, empty, and emptied afterwards."""
    exporter = memory_exporter()
    exporter.clear()
    yield exporter
    exporter.clear()
