"""Concurrent refreshes with one token (a mobile app retrying on two connections): the row lock
serialises them, one rotates and the others take the grace path, so all get the same new token and
the family stays alive."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from models.auth import RefreshToken, RefreshTokenFamily
from models.users import User
from tests.auth.support import PASSWORD, PASSWORD_HASH
from tests.auth.test_http import LOGIN, REFRESH


async def test_parallel_refreshes_of_one_token_get_one_successor(live) -> None:  # type: ignore[no-untyped-def]
    async with live.sessionmaker() as session, session.begin():
        session.add(User(email="ann@example.com", name="Ann", role="customer", password_hash=PASSWORD_HASH))
    login = await live.execute(LOGIN, {"e": "ann@example.com", "p": PASSWORD})
    token = login.data["login"]["session"]["refreshToken"]

    results = await asyncio.gather(*(live.execute(REFRESH, {"t": token}) for _ in range(5)))

    assert all(r.errors is None for r in results)
    sessions = [r.data["refreshToken"]["session"] for r in results]
    assert all(s is not None for s in sessions)
    assert len({s["refreshToken"] for s in sessions}) == 1
    async with live.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(RefreshToken)) == 2
        family = await session.scalar(select(RefreshTokenFamily))
        assert family is not None and family.revoked_at is None
