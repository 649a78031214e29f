"""Running documents with the settings, Redis and viewer a limits test chooses."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import ExecutionResult

from core.context import RequestContext
from core.settings import Settings
from core.viewer import ANONYMOUS, Viewer
from schema import schema


async def run(
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    db: AsyncSession,
    settings: Settings,
    redis: aioredis.Redis | None = None,
    viewer: Viewer = ANONYMOUS,
    client_ip: str = "192.0.2.1",
    response: Any = None,
) -> ExecutionResult:
    """Execute `document` as one request, reading inside the test's rolled-back transaction."""
    context = RequestContext(
        request=None,
        settings=settings,
        sessionmaker=None,
        redis=redis,
        viewer=viewer,
        request_id="limits-test",
        session=db,
        client_ip=client_ip,
        response=response,
    )
    return await schema.execute(document, variable_values=variables, context_value=context)


def codes(result: ExecutionResult) -> list[str]:
    return [(e.extensions or {}).get("code") for e in result.errors or []]
