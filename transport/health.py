"""Health checks for the process manager and the load balancer: /healthz (alive) and /readyz (ready)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from core.database import is_up as database_is_up
from core.redis import is_up

log = logging.getLogger("swipesavvy")

READINESS_TIMEOUT_S = 2.0


async def healthz(request: Request) -> JSONResponse:
    """The process is alive (no dependency is checked)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready when PostgreSQL answers; Redis down only degrades (the API serves without it). Draining
    (a SIGTERM received): 503 at once, so the load balancer stops sending while requests still work."""
    state = request.state
    if state.drain.draining:
        return JSONResponse({"status": "draining", "reason": state.drain.reason}, status_code=503)
    postgres = "ok" if await database_is_up(state.engine, timeout_s=READINESS_TIMEOUT_S) else "down"
    redis = "ok" if state.redis is not None and await is_up(state.redis) else "down"
    if postgres == "down":
        return JSONResponse({"status": "unready", "postgres": postgres, "redis": redis}, status_code=503)
    status = "ready" if redis == "ok" else "degraded"
    return JSONResponse({"status": status, "postgres": postgres, "redis": redis})
