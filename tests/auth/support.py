"""Helpers of the authentication tests: a notifier that keeps what it was asked to send."""

from __future__ import annotations

from typing import ClassVar

from core.passwords import hash_password_sync
from core.settings import Settings

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
