"""Settings of event ingestion (issue 14): the fold of appended events into the campaign counters,
and the partitions of the event log. A part of `core.settings.Settings`, which inherits these fields."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class IngestSettings(BaseSettings):
    # Every job worker runs one fold loop beside its jobs (off: this worker folds nothing; some other
    # worker must). Any number of loops on any number of machines fold each event once.
    ingest_fold_in_worker: bool = True
    # Events one fold transaction claims; a full claim is followed at once by the next.
    ingest_fold_batch: int = Field(default=20_000, ge=1, le=200_000)
    # How long a loop that found less than a full claim waits before looking again: the bound on how
    # stale the counters are (with the claim's own time), and the cost of an idle loop (one small
    # statement per wait).
    ingest_fold_idle_s: float = Field(default=0.5, gt=0, le=10)
    # Days the raw event log (campaign_events, one partition per UTC day) is kept; the prune job
    # drops whole partitions past it and creates the coming days' ahead of time.
    analytics_event_retention_days: int = Field(default=90, ge=8, le=3650)
    ingest_partitions_ahead_days: int = Field(default=7, ge=2, le=60)
