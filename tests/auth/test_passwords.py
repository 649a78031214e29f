"""core/passwords.py: argon2id, verified off the event loop, with a dummy hash for unknown accounts."""

from __future__ import annotations

import asyncio
import time

from core.passwords import hash_password, needs_rehash, password_problem, verify_password
from tests.auth.support import PASSWORD, PASSWORD_HASH


async def test_hashes_are_argon2id_and_verify() -> None:
    stored = await hash_password(PASSWORD)

    assert stored.startswith("$argon2id$")
    assert await verify_password(stored, PASSWORD)
    assert not await verify_password(stored, PASSWORD + "!")
    assert not needs_rehash(stored)


async def test_no_account_never_matches_and_legacy_hashes_need_rehashing() -> None:
    assert not await verify_password(None, PASSWORD)
    assert not await verify_password("scrypt$00$00", PASSWORD)
    assert needs_rehash("scrypt$00$00")


async def test_verification_leaves_the_event_loop_free() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    await verify_password(PASSWORD_HASH, PASSWORD)
    task.cancel()

    assert ticks >= 3


async def test_an_unknown_account_costs_about_as_much_as_a_wrong_password() -> None:
    await verify_password(None, "warm up the dummy hash")

    started = time.perf_counter()
    await verify_password(PASSWORD_HASH, "wrong password")
    wrong = time.perf_counter() - started
    started = time.perf_counter()
    await verify_password(None, "wrong password")
    unknown = time.perf_counter() - started

    assert unknown > wrong / 3


def test_weak_passwords_are_refused() -> None:
    assert password_problem("short") == "At least 10 characters."
    assert password_problem("x" * 300) == "At most 256 characters."
    assert password_problem(PASSWORD) is None
