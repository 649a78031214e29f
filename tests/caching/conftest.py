"""An app with the response cache on, over a scratch database, with a Redis prefix of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role
from tests.transport.client import client_for


@pytest.fixture
def cache_settings(settings: Settings, scratch_db_url: str, redis_prefix: str) -> Settings:
    return settings.model_copy(
        update={"database_url": scratch_db_url, "redis_key_prefix": redis_prefix, "response_cache": True}
    )


@pytest.fixture
async def client(cache_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(cache_settings) as client:
        yield client


def bearer(
    settings: Settings, role: Role, *, user_id: int | None = None, merchant_id: int | None = None
) -> dict[str, str]:
    token = mint_access_token(
        secret=signing_secret(settings),
        user_id=user_id,
        role=role,
        merchant_id=merchant_id,
        ttl=timedelta(minutes=10),
    )
    return {"authorization": f"Bearer {token}"}
