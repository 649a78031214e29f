"""Health checks for the process manager and the load balancer: /healthz (alive) and /readyz (ready)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from core.redis import is_up

log = logging.getLogger("swipesavvy")

READINESS_TIMEOUT_S = 2.0


async def healthz(request: Request) -> JSONResponse:
    """The process is alive (no dependency is checked)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready when PostgreSQL answers; Redis down only degrades (the API serves without it)."""
    state = request.state
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_S):
            async with state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        postgres = "ok"
    except Exception:  # noqa: BLE001 - any failure to reach the database means not ready
        log.warning("readiness: postgresql unreachable", exc_info=True)
        postgres = "down"
    redis = "ok" if state.redis is not None and await is_up(state.redis) else "down"
    if postgres == "down":
        return JSONResponse({"status": "unready", "postgres": postgres, "redis": redis}, status_code=503)
    status = "ready" if redis == "ok" else "degraded"
    return JSONResponse({"status": status, "postgres": postgres, "redis": redis})
