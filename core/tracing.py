"""OpenTelemetry traces, per worker process, only when OTEL_EXPORTER_OTLP_ENDPOINT is set.

`start_tracing` runs in each worker's lifespan, after uvicorn started (or spawned) that worker: the
BatchSpanProcessor's export thread and the exporter's HTTP session belong to the process that
exports, never to a parent that forks. It installs the process's TracerProvider (OTLP/HTTP; the SDK
reads OTEL_TRACES_SAMPLER, OTEL_EXPORTER_OTLP_HEADERS, OTEL_BSP_* itself) and the maintained
instrumentations of SQLAlchemy (the engines' statements: reads run through SQLAlchemy Core over
asyncpg) and redis. The request span comes from the ASGI middleware server.py adds.

Off (the default), nothing of the SDK is imported and nothing is installed: the request path's only
trace of tracing is `active_tracer()` returning None, one global read, where a span would start.
So there is no trace id either: none is invented for logs or errors while nothing records a trace.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.tracing_settings import TracingSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

log = logging.getLogger("swipesavvy.tracing")

TRACER_NAME = "swipesavvy"
OTLP_TRACES_PATH = "/v1/traces"
# Operation names come from clients: an attribute keeps this many characters of one.
MAX_NAME_CHARS = 100

# The process's provider, made once (set_tracer_provider takes one per process) and kept across apps
# of one process (tests); a test installs its in-memory one with `install_provider`.
_provider: TracerProvider | None = None
# Set while a started Tracing is running: what `active_tracer` hands out.
_tracer: Tracer | None = None


def active_tracer() -> Tracer | None:
    """The tracer of this process while tracing runs; None when it is off (then start no span)."""
    return _tracer


def current_trace_id() -> str | None:
    """The W3C trace id (32 hex digits) of the span being recorded now, or None."""
    if _tracer is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None


def bounded_name(name: str | None) -> str:
    """A client's operation name as an attribute value: cut, never empty."""
    return (name or "anonymous")[:MAX_NAME_CHARS]


def install_provider(provider: TracerProvider) -> None:
    """Use `provider` as this process's (tests: an in-memory exporter) instead of an OTLP one."""
    global _provider
    from opentelemetry import trace

    _provider = provider
    trace.set_tracer_provider(provider)


def _otlp_provider(settings: TracingSettings) -> TracerProvider:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # The endpoint may come from .env, which the SDK does not read: given here, unless the
    # signal-specific variable (which the SDK does read) says otherwise.
    endpoint = None
    if not os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        endpoint = (settings.otel_exporter_otlp_endpoint or "").rstrip("/") + OTLP_TRACES_PATH
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.otel_service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


@dataclass
class Tracing:
    """Tracing running in this process: what `stop` takes down again."""

    provider: TracerProvider
    engine_tracers: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        """Uninstall the instrumentations and send what is buffered (the provider stays, for a later
        app of the same process; the SDK shuts it down at exit)."""
        global _tracer
        from opentelemetry.instrumentation.redis import RedisInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        _tracer = None
        RedisInstrumentor().uninstrument()
        SQLAlchemyInstrumentor().uninstrument()
        self.provider.force_flush()


def start_tracing(settings: TracingSettings, *, engines: list[Any]) -> Tracing | None:
    """Install the provider and the instrumentations of `engines` (async engines) and redis; None,
    and nothing done, when tracing is off."""
    global _provider, _tracer
    if not settings.tracing_enabled:
        return None
    from opentelemetry import trace
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    if _provider is None:
        _provider = _otlp_provider(settings)
        trace.set_tracer_provider(_provider)
    # The SQLAlchemy instrumentation declares SQLAlchemy < 2.1; its events (before/after
    # cursor_execute, handle_error) are the same in 2.1, which tests/transport/test_tracing.py checks.
    tracers = SQLAlchemyInstrumentor().instrument(
        engines=[engine.sync_engine for engine in engines], tracer_provider=_provider, skip_dep_check=True
    )
    RedisInstrumentor().instrument(tracer_provider=_provider)
    _tracer = _provider.get_tracer(TRACER_NAME)
    log.info("tracing: spans exported over OTLP (%s)", settings.otel_exporter_otlp_endpoint)
    return Tracing(provider=_provider, engine_tracers=list(tracers or []))


def request_middleware() -> Any:
    """The ASGI instrumentation as the app's outermost middleware: a span per HTTP request and per
    WebSocket connection, continuing an incoming `traceparent`. Probes are not traced."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from starlette.middleware import Middleware

    return Middleware(
        OpenTelemetryMiddleware,
        excluded_urls=",".join(UNTRACED_PATHS),
        # One span per request, not one more per ASGI message.
        exclude_spans=["receive", "send"],
    )


UNTRACED_PATHS = ("/healthz", "/readyz")
