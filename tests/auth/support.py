"""Helpers of the authentication tests: a notifier that keeps what it was asked to send, and the
reset links' jobs run in the test's transaction."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.notifier import notifier_for
from core.passwords import hash_password_sync
from core.settings import Settings
from jobs.auth import send_reset_link
from resolvers.auth import reset_links

PASSWORD = "correct horse battery"
# One argon2 hash for every test user: hashing costs tens of milliseconds on purpose.
PASSWORD_HASH = hash_password_sync(PASSWORD)


class RecordingNotifier:
    """A real notifier implementation (NOTIFIER=tests.auth.support.RecordingNotifier) that
    delivers into a list the test reads."""

    sent: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send_password_reset(self, *, email: str, link: str) -> None:
        self.sent.append((email, link))


# The reset links' jobs still waiting in the test's transaction (as a worker would take them).
_PENDING_RESETS = text(
    "DELETE FROM procrastinate_jobs WHERE task_name = :task AND status = 'todo' RETURNING args"
)


async def run_reset_jobs(db: AsyncSession, settings: Settings) -> int:
    """Run the waiting `send-password-reset` jobs as a worker would, in the test's transaction (their
    code is the job's own, jobs/auth.py); return how many ran."""
    taken = (await db.execute(_PENDING_RESETS, {"task": reset_links.TASK})).scalars().all()
    for args in taken:
        await send_reset_link(
            lambda work: work(db),
            settings=settings,
            notifier=notifier_for(settings),
            now=dt.datetime.now(dt.UTC),
            **args,
        )
    return len(taken)
