"""How the server reaches a person outside the API: today, password-reset links (sent by a job,
jobs/auth.py, which retries what a provider could not take).

`NOTIFIER=log` (the default) writes the link to the log, for development. `NOTIFIER=email` sends it
as an e-mail through the e-mail provider of core/delivery/ (EMAIL_PROVIDER=smtp in production).
Another sender is a class with the same `send_password_reset` method and a constructor taking the
settings, named by its dotted path: `NOTIFIER=mypackage.mail.SesNotifier`. In production the
settings refuse a notifier that would only log (core/settings.py), unless NOTIFIER_LOG_IN_PRODUCTION.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from typing import Protocol

from core.delivery.log import masked_email
from core.delivery.message import Channel, Outgoing, Status
from core.delivery.registry import Delivery, shared_delivery
from core.settings import Settings

__all__ = [
    "RESET_LINK",
    "EmailNotifier",
    "LogNotifier",
    "NotDelivered",
    "Notifier",
    "masked_email",
    "notifier_for",
]

log = logging.getLogger(__name__)

# The mobile app's deep link; the app reads the token (the last path segment) and calls
# `resetPassword`. A path, not `?token=`: the log redaction (core/logging.py) masks `token=` values,
# and the development notifier's whole point is a usable link in the log.
RESET_LINK = "swipesavvy://reset-password/{token}"
RESET_CATEGORY = "security"
# The delivery id of a reset e-mail is derived from its link: the same link sent twice is the same
# delivery (one Message-ID), and the id reveals nothing of the token.
_RESET_NAMESPACE = uuid.UUID("0d4c1f7e-3b8a-4e21-9c5d-7a2b6e9f1c03")


class NotDelivered(Exception):
    """The link did not go out. `retry`: whether trying again later may help (a provider down, not
    an address that does not exist). `code` is short and fixed, never a provider's text."""

    def __init__(self, code: str, *, retry: bool) -> None:
        super().__init__(code)
        self.code = code
        self.retry = retry


class Notifier(Protocol):
    """Sends a link or raises: NotDelivered when it knows why, any other error counts as retryable."""

    async def send_password_reset(self, *, email: str, link: str) -> None: ...


class LogNotifier:
    """Development delivery: the link goes to the log (never in production, where logs hold no secrets)."""

    def __init__(self, settings: Settings) -> None:
        self.production = settings.is_production

    async def send_password_reset(self, *, email: str, link: str) -> None:
        if self.production:
            log.error("password reset for %s not delivered: NOTIFIER is log", masked_email(email))
            return
        log.warning("password reset link for %s: %s", masked_email(email), link)


class EmailNotifier:
    """The link as an e-mail through the e-mail provider, behind its breaker."""

    def __init__(self, settings: Settings, delivery: Delivery | None = None) -> None:
        self.settings = settings
        # A worker's own providers (their breakers and connections), or one set per settings object.
        self.delivery = delivery or shared_delivery(settings)

    def reset_message(self, *, email: str, link: str) -> Outgoing:
        minutes = self.settings.password_reset_ttl_minutes
        return Outgoing(
            delivery_id=str(uuid.uuid5(_RESET_NAMESPACE, link)),
            channel=Channel.EMAIL,
            address=email,
            title="Reset your SwipeSavvy password",
            body=(
                "Someone asked to reset the password of your SwipeSavvy account.\n\n"
                f"Open this link on your phone within {minutes} minutes to choose a new one:\n{link}\n\n"
                "If it was not you, ignore this message: your password stays as it is."
            ),
            data={"link": link},
            category=RESET_CATEGORY,
        )

    async def send_password_reset(self, *, email: str, link: str) -> None:
        result = await self.delivery.send(self.reset_message(email=email, link=link))
        if result.status is not Status.SENT:
            # The job that called (jobs/auth.py) tries again later, or gives up on a dead address.
            raise NotDelivered(str(result.error_code), retry=result.status is Status.RETRY)


def notifier_for(settings: Settings, delivery: Delivery | None = None) -> Notifier:
    """The notifier named by NOTIFIER: "log", "email" (through `delivery`, when given) or the dotted
    path of a class."""
    if settings.notifier == "log":
        return LogNotifier(settings)
    if settings.notifier == "email":
        return EmailNotifier(settings, delivery)
    module_name, _, class_name = settings.notifier.rpartition(".")
    if not module_name:
        raise RuntimeError(f"NOTIFIER must be 'log', 'email' or a dotted path, not {settings.notifier!r}")
    cls = getattr(importlib.import_module(module_name), class_name)
    notifier: Notifier = cls(settings)
    return notifier
