"""How the server reaches a person outside the API: today, password-reset links.

`NOTIFIER=log` (the default) writes the link to the log, for development. A real sender (mail, push)
is a class with the same `send_password_reset` method and a constructor taking the settings, named
by its dotted path: `NOTIFIER=mypackage.mail.SesNotifier`.
"""

from __future__ import annotations

import importlib
import logging
from typing import Protocol

from core.settings import Settings

log = logging.getLogger(__name__)

# The mobile app's deep link; the app reads the token (the last path segment) and calls
# `resetPassword`. A path, not `?token=`: the log redaction (core/logging.py) masks `token=` values,
# and the development notifier's whole point is a usable link in the log.
RESET_LINK = "swipesavvy://reset-password/{token}"


class Notifier(Protocol):
    async def send_password_reset(self, *, email: str, link: str) -> None: ...


def masked_email(email: str) -> str:
    """`a***@example.com`: enough to tell accounts apart in a log, not enough to harvest."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


class LogNotifier:
    """Development delivery: the link goes to the log (never in production, where logs hold no secrets)."""

    def __init__(self, settings: Settings) -> None:
        self.production = settings.is_production

    async def send_password_reset(self, *, email: str, link: str) -> None:
        if self.production:
            log.error("password reset for %s not delivered: NOTIFIER is unset", masked_email(email))
            return
        log.warning("password reset link for %s: %s", masked_email(email), link)


def notifier_for(settings: Settings) -> Notifier:
    """The notifier named by NOTIFIER: "log" or the dotted path of a class."""
    if settings.notifier == "log":
        return LogNotifier(settings)
    module_name, _, class_name = settings.notifier.rpartition(".")
    if not module_name:
        raise RuntimeError(f"NOTIFIER must be 'log' or a dotted path, not {settings.notifier!r}")
    cls = getattr(importlib.import_module(module_name), class_name)
    notifier: Notifier = cls(settings)
    return notifier
