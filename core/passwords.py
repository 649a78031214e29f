"""Password hashing with argon2id (argon2-cffi), run in a worker thread, a bounded number at once.

One hash or verification costs tens of milliseconds of CPU by design; on the event loop it would
stall every other request of the process, so both go through `asyncio.to_thread`. Each one also
takes argon2's memory cost (64 MiB) for as long as it runs: 4 concurrent logins took a worker from
112 to 374 MB, so a login flood from many addresses (which no per-account throttle stops) would
exhaust memory. At most PASSWORD_HASH_CONCURRENCY run at once per worker (peak memory: 64 MiB times
that); the others queue, and one that waited PASSWORD_HASH_WAIT_S is refused with RATE_LIMITED and
a Retry-After, so a flood degrades to slow or refused logins, never to an out-of-memory worker.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from functools import cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.errors import ApiError, ErrorCode
from core.settings import get_settings

# argon2-cffi's defaults are RFC 9106's "low memory" profile of argon2id (t=3, m=64 MiB, p=4).
_HASHER = PasswordHasher()
MIN_LENGTH, MAX_LENGTH = 10, 256
BUSY_RETRY_AFTER_S = 1
T = TypeVar("T")


class HashQueue:
    """At most `concurrency` hashes at once; a caller waits at most `wait_s` for its turn."""

    def __init__(self, *, concurrency: int, wait_s: float) -> None:
        self.concurrency = concurrency
        self.wait_s = wait_s
        self._slots = asyncio.Semaphore(concurrency)
        # How many run now, and the most that ever ran at once (what the memory bound is about).
        self.running = 0
        self.peak = 0

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` in a worker thread once a slot is free; RATE_LIMITED after waiting too long."""
        if self.wait_s == 0 and self._slots.locked():
            raise _busy()
        try:
            async with asyncio.timeout(self.wait_s):
                await self._slots.acquire()
        except TimeoutError:
            raise _busy() from None
        self.running += 1
        self.peak = max(self.peak, self.running)
        # The slot is given back when the thread is done, not when the caller stops waiting (a
        # cancelled request's hash still runs, and still holds its memory, until it finishes).
        thread = asyncio.ensure_future(asyncio.to_thread(work, *args))
        thread.add_done_callback(self._finished)
        return await asyncio.shield(thread)

    def _finished(self, thread: asyncio.Future[object]) -> None:
        self.running -= 1
        self._slots.release()
        if not thread.cancelled():
            thread.exception()  # retrieved here too, so an abandoned hash's error is not reported twice


def _busy() -> ApiError:
    return ApiError(
        "Too many sign-ins are being checked right now; try again in a moment.",
        code=ErrorCode.RATE_LIMITED,
        retryAfter=BUSY_RETRY_AFTER_S,
    )


# A semaphore belongs to one event loop: one queue per loop (a worker has one; tests have several).
_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[int, float], HashQueue]] = (
    weakref.WeakKeyDictionary()
)


def hash_queue() -> HashQueue:
    """This worker's queue, sized by the settings."""
    settings = get_settings()
    key = (settings.password_hash_concurrency, settings.password_hash_wait_s)
    queues = _queues.setdefault(asyncio.get_running_loop(), {})
    queue = queues.get(key)
    if queue is None:
        queue = queues[key] = HashQueue(concurrency=key[0], wait_s=key[1])
    return queue


def hash_password_sync(password: str) -> str:
    """An argon2id hash string (for the seed, which hashes once outside any event loop)."""
    return _HASHER.hash(password)


async def hash_password(password: str) -> str:
    """An argon2id hash of `password`, computed off the event loop in its turn."""
    return await hash_queue().run(_HASHER.hash, password)


@cache
def _dummy_hash() -> str:
    return _HASHER.hash("not a password: verified when the account does not exist")


def _verify(stored: str | None, password: str) -> bool:
    # No account (or no password): verify against a dummy hash anyway, so an unknown email costs
    # the same time as a wrong password and the timing does not tell which emails exist.
    target = stored if stored is not None else _dummy_hash()
    try:
        ok = _HASHER.verify(target, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and stored is not None


async def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash; None (no such account) is never a match."""
    return await hash_queue().run(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made with weaker parameters than today's (rehashed at the next login)."""
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"At least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"At most {MAX_LENGTH} characters."
    return None
