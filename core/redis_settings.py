"""Settings of the Redis circuit breaker (issue 14). A part of `core.settings.Settings`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from core.redis import BREAKER_COOLDOWN_S, BREAKER_THRESHOLD


class RedisSettings(BaseSettings):
    # Redis outages in a row (refused, reset, a reply past the 0.5 s socket timeout) that open the
    # breaker; while open, Redis calls fail at once (callers degrade as when Redis is down), and
    # every REDIS_BREAKER_COOLDOWN_S one call probes whether it is back.
    redis_breaker_threshold: int = Field(default=BREAKER_THRESHOLD, ge=1)
    redis_breaker_cooldown_s: float = Field(default=BREAKER_COOLDOWN_S, gt=0, le=60)
