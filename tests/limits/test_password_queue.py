"""Password hashing is bounded in concurrency: a queue with a timeout, then a coded "try again".

Before, every login hashed at once: one argon2 verification raised a worker's peak memory by 65 MB
and 4 concurrent logins took it from 112 to 374 MB, so a login flood from many addresses would
exhaust memory long before the per-account throttle helps.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from core import passwords
from models.users import User
from tests.auth.support import PASSWORD, PASSWORD_HASH
from tests.limits.support import codes

LOGIN = """
mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { session { role } userErrors { code } }
}
"""
LOGINS = 6


async def _customer(pooled: Any) -> None:
    async with pooled.sessionmaker() as session, session.begin():
        session.add(User(email="ann@example.com", name="Ann", role="customer", password_hash=PASSWORD_HASH))


async def _logins(pooled: Any) -> list[Any]:
    # From six addresses: the per-account and per-IP throttles are not what is under test.
    return await asyncio.gather(
        *(
            pooled.execute(LOGIN, {"email": "ann@example.com", "password": PASSWORD}, client_ip=f"10.9.0.{n}")
            for n in range(LOGINS)
        )
    )


async def test_with_one_slot_and_no_wait_logins_never_hash_in_parallel(pooled, process_settings) -> None:  # type: ignore[no-untyped-def]
    # given one hash at a time per worker and no waiting for a turn
    process_settings(PASSWORD_HASH_CONCURRENCY="1", PASSWORD_HASH_WAIT_S="0")
    await _customer(pooled)
    # when six logins arrive at once
    results = await _logins(pooled)
    # then no two hashes ever ran together
    assert passwords.hash_queue().peak == 1
    # and the logins that found the slot taken were told to retry, coded, with nothing else wrong
    refused = [r for r in results if r.errors]
    served = [r for r in results if not r.errors]
    assert refused and served
    assert {code for r in refused for code in codes(r)} == {"RATE_LIMITED"}
    assert all(r.errors[0].extensions["retryAfter"] >= 1 for r in refused)
    assert all(r.data["login"]["session"]["role"] == "customer" for r in served)


async def test_with_one_slot_and_time_to_wait_logins_queue_and_all_succeed(pooled, process_settings) -> None:  # type: ignore[no-untyped-def]
    # given one hash at a time, and long enough a wait for six of them
    process_settings(PASSWORD_HASH_CONCURRENCY="1", PASSWORD_HASH_WAIT_S="30")
    await _customer(pooled)
    # when six logins arrive at once, then each gets its session in turn, one hash at a time
    results = await _logins(pooled)
    assert [r.errors for r in results] == [None] * LOGINS
    assert passwords.hash_queue().peak == 1


async def test_a_queue_refuses_what_waited_too_long() -> None:
    # given a queue of one slot, taken by a slow piece of work, and a wait of a tenth of a second
    queue = passwords.HashQueue(concurrency=1, wait_s=0.1)
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow() -> str:
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result()
        return "done"

    first = asyncio.create_task(queue.run(slow))
    await asyncio.sleep(0)
    # when another caller asks for a turn, then it is refused, coded, once the wait is over
    try:
        await queue.run(str, "never runs")
    except passwords.ApiError as refused:
        assert refused.extensions["code"] == "RATE_LIMITED"  # type: ignore[index]
    else:
        raise AssertionError("the second caller was not refused")
    release.set()
    assert await first == "done"
    assert queue.peak == 1 and queue.running == 0


async def test_a_cancelled_caller_keeps_its_slot_until_its_hash_is_done() -> None:
    # given a queue of one slot whose hash is still running when its caller gives up (a timeout)
    queue = passwords.HashQueue(concurrency=1, wait_s=0)
    release = threading.Event()
    caller = asyncio.create_task(queue.run(release.wait))
    await asyncio.sleep(0.05)
    caller.cancel()
    await asyncio.gather(caller, return_exceptions=True)
    # then the slot stays taken while the thread runs (its memory is still in use)
    assert queue.running == 1
    try:
        await queue.run(str, "refused")
    except passwords.ApiError:
        pass
    else:
        raise AssertionError("a second hash ran beside the abandoned one")
    # and is free again once the thread is done
    release.set()
    while queue.running:
        await asyncio.sleep(0.01)
    assert await queue.run(str, "runs") == "runs"
