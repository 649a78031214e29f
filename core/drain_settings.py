"""Settings of the graceful drain (issue 14, part 5): what a server or job worker does between the
SIGTERM that asks it to stop and its exit. A part of `core.settings.Settings`, which inherits these
fields; the defaults below read the environment from it."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

# Production: long enough for a load balancer's health check (every 1-2 s, a few failures in a row)
# to take the worker out of rotation, and 5 + 20 + the shutdown itself inside Kubernetes' default
# terminationGracePeriodSeconds of 30, so the SIGKILL never lands in the middle of the drain.
PRODUCTION_READY_DELAY_S = 5.0
PRODUCTION_GRACE_S = 20.0
# Development and tests: nobody balances load in front of `make run`, and Ctrl-C should stop it at once.
LOCAL_READY_DELAY_S = 0.0
LOCAL_GRACE_S = 5.0


class DrainSettings(BaseSettings):
    # --- Graceful drain (issue 14, part 5). After SIGTERM a server worker answers /readyz with 503 for
    # this many seconds while it keeps serving (unset: 5 in production, 0 elsewhere) ...
    drain_ready_delay_s: float | None = Field(default=None, ge=0, le=600)
    # ... then closes its listener and gives in-flight requests this long to finish (unset: 20 in
    # production, 5 elsewhere); WebSockets are closed with 1001 at that point. Job workers give their
    # running jobs JOB_SHUTDOWN_GRACE_S, which is this unless set.
    drain_grace_s: float | None = Field(default=None, ge=0, le=3600)

    @property
    def drain_ready_delay(self) -> float:
        if self.drain_ready_delay_s is not None:
            return self.drain_ready_delay_s
        return PRODUCTION_READY_DELAY_S if self.is_production else LOCAL_READY_DELAY_S

    @property
    def drain_grace(self) -> float:
        if self.drain_grace_s is not None:
            return self.drain_grace_s
        return PRODUCTION_GRACE_S if self.is_production else LOCAL_GRACE_S

    @property
    def job_grace(self) -> float:
        """How long a stopping job worker lets its running jobs finish before giving them back."""
        own = self.job_shutdown_grace_s
        return self.drain_grace if own is None else float(own)
