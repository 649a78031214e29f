"""Settings of the Prometheus metrics (issue 14): where the worker processes write their samples,
who may read `/metrics`, and which operation names are labels of their own. A part of
`core.settings.Settings`, which inherits these fields."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings


class MetricsSettings(BaseSettings):
    # The directory every process of one `serve` (its uvicorn workers and the job worker beside them)
    # writes its samples to (prometheus-client's multiprocess mode); `serve` empties it at start. Use
    # a tmpfs, one per `serve`. Unset: a private temporary directory, removed when `serve` stops.
    metrics_dir: Path | None = None
    # The bearer token `/metrics` asks for. In production, unset: `/metrics` answers 404; elsewhere
    # unset: open. Compared in constant time.
    metrics_token: str | None = None
    # Operation names (comma-separated) that get their own label value; the trusted documents'
    # names are added to them. Every other name is "other", so no client can add series.
    metrics_operation_names: str = ""
    # How often each job worker counts the jobs waiting in every queue (job_queue_depth).
    metrics_queue_depth_interval_s: float = Field(default=15.0, gt=0)

    @field_validator("metrics_dir", "metrics_token", mode="before")
    @classmethod
    def _unset_when_empty_metrics(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def metrics_operation_name_list(self) -> list[str]:
        return [n.strip() for n in self.metrics_operation_names.split(",") if n.strip()]
