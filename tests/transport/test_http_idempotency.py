"""The Idempotency-Key header over HTTP: the retry gets the first response byte for byte, marked as a
replay, and nothing is written twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role
from models.campaigns import Campaign
from models.users import User
from server import create_app
from tests.transport.client import serving

CREATE = (
    'mutation { createCampaign(input: {name: "Over HTTP", type: PUSH_NOTIFICATION}) { campaign { id } } }'
)


async def test_header_retry_replays_the_first_response(settings: Settings, scratch_db_url: str) -> None:
    app_settings = settings.model_copy(update={"database_url": scratch_db_url})
    engine = create_engine(scratch_db_url, app_settings, pool_size=2)
    async with create_sessionmaker(engine)() as session, session.begin():
        user = User(email="ops@example.com", name="Ops", role="admin")
        session.add(user)
        await session.flush()
        user_id = user.id
    headers = {
        "authorization": "Bearer "
        + mint_access_token(
            secret=signing_secret(app_settings), user_id=user_id, role=Role.ADMIN, ttl=timedelta(minutes=5)
        ),
        "idempotency-key": "http-1",
    }
    async with serving(create_app(app_settings)) as client:
        first = await client.post("/graphql", json={"query": CREATE}, headers=headers)
        second = await client.post("/graphql", json={"query": CREATE}, headers=headers)

    assert first.status_code == second.status_code == 200
    assert second.json()["data"] == first.json()["data"]
    assert second.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    async with create_sessionmaker(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Campaign)) == 1
    await engine.dispose()
