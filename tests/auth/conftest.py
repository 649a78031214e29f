"""Fixtures of the authentication tests: GraphQL with chosen settings and a real Redis."""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import RequestContext
from core.settings import Settings
from core.viewer import ANONYMOUS, Viewer
from models.users import User
from schema import schema
from tests.auth.support import PASSWORD_HASH, RecordingNotifier, run_reset_jobs
from tests.models import factories as f


@pytest.fixture
def auth_gql(db: AsyncSession, settings: Settings, redis_client: aioredis.Redis, redis_prefix: str):  # type: ignore[no-untyped-def]
    """Execute GraphQL in the test's transaction with the real Redis (private key prefix), the
    recording notifier and optional setting overrides; the reset links' jobs it deferred then run
    (unless `deliver=False`), as a worker would take them."""
    base = settings.model_copy(
        update={"redis_key_prefix": redis_prefix, "notifier": "tests.auth.support.RecordingNotifier"}
    )

    async def execute(  # type: ignore[no-untyped-def]
        document: str,
        variables: dict[str, object] | None = None,
        *,
        viewer: Viewer = ANONYMOUS,
        client_ip: str = "127.0.0.1",
        redis: Any = redis_client,
        idempotency_key: str | None = None,
        deliver: bool = True,
        **overrides: Any,
    ):
        chosen = base.model_copy(update=overrides)
        context = RequestContext(
            request=None,
            settings=chosen,
            sessionmaker=None,
            redis=redis,
            viewer=viewer,
            request_id="test",
            session=db,
            client_ip=client_ip,
            idempotency_key=idempotency_key,
        )
        result = await schema.execute(document, variable_values=variables, context_value=context)
        if deliver:
            await run_reset_jobs(db, chosen)
        return result

    RecordingNotifier.sent.clear()
    return execute


@pytest.fixture
async def person(db: AsyncSession) -> User:
    """A customer whose password is tests.auth.support.PASSWORD."""
    return await f.make_user(db, email="ann@example.com", name="Ann", password_hash=PASSWORD_HASH)
