"""Settings of tracing (issue 14): OpenTelemetry spans exported over OTLP/HTTP. A part of
`core.settings.Settings`, which inherits these fields."""

from __future__ import annotations

from pydantic_settings import BaseSettings


class TracingSettings(BaseSettings):
    # --- Traces (issue 14). Set: each worker exports its spans over OTLP/HTTP to this base URL
    # (`/v1/traces` is appended, as the SDK does). Unset: tracing is off, and costs nothing: no
    # provider, no instrumentation, no middleware. The SDK's own OTEL_* variables (headers, sampler,
    # batch sizes, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) are read by it from the process environment.
    otel_exporter_otlp_endpoint: str | None = None
    # The service.name of every span (OTEL_SERVICE_NAME).
    otel_service_name: str = "swipesavvy-api"

    @property
    def tracing_enabled(self) -> bool:
        return bool(self.otel_exporter_otlp_endpoint)
