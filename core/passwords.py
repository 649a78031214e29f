"""Password hashing with argon2id (argon2-cffi), run in a worker thread.

One hash or verification costs tens of milliseconds of CPU by design; on the event loop it would
stall every other request of the process, so both go through `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2-cffi's defaults are RFC 9106's "low memory" profile of argon2id (t=3, m=64 MiB, p=4).
_HASHER = PasswordHasher()
MIN_LENGTH, MAX_LENGTH = 10, 256


def hash_password_sync(password: str) -> str:
    """An argon2id hash string (for the seed, which hashes once outside any event loop)."""
    return _HASHER.hash(password)


async def hash_password(password: str) -> str:
    """An argon2id hash of `password`, computed off the event loop."""
    return await asyncio.to_thread(_HASHER.hash, password)


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
    return await asyncio.to_thread(_verify, stored, password)


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
