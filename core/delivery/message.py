"""What a provider is given (`Outgoing`), what it answers (`Result`), and how it says it failed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol


class Channel(StrEnum):
    EMAIL = "email"
    PUSH = "push"
    WEBHOOK = "webhook"
    IN_APP = "in_app"


class Platform(StrEnum):
    IOS = "ios"
    ANDROID = "android"
    WEB = "web"


class Status(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    REJECTED = "rejected"


class Code(StrEnum):
    """`Result.error_code`: short and fixed, never an exception's text."""

    # rejected: the address or device token is dead; the caller deactivates it
    INVALID_RECIPIENT = "INVALID_RECIPIENT"
    # rejected: this message can never be sent (too large, refused as such)
    MESSAGE_REFUSED = "MESSAGE_REFUSED"
    # retry: the breaker is open, no attempt was made
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"
    # retry: the provider answered with an error of its own (5xx, a refused login)
    PROVIDER_ERROR = "PROVIDER_ERROR"
    PROVIDER_AUTH = "PROVIDER_AUTH"
    # retry: the provider asked to slow down
    RATE_LIMITED = "RATE_LIMITED"
    NETWORK_ERROR = "NETWORK_ERROR"
    TIMEOUT = "TIMEOUT"
    # retry: a bug in this code (logged with its traceback)
    UNEXPECTED = "UNEXPECTED"


# Ids that can stand as they are in a Message-ID's left-hand side and in headers.
_PLAIN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# Namespace of the UUIDs derived from ids that are not UUIDs (apns-id must be one).
_ID_NAMESPACE = uuid.UUID("6f1c3a52-8d0e-4c55-9a57-2f4de1b1c0a7")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One delivery of one notification on one channel; every retry sends the same `delivery_id`."""

    delivery_id: str
    channel: Channel
    # an e-mail address, a device token, or a webhook URL
    address: str
    title: str
    body: str
    platform: Platform | None = None
    # the deep link and whatever the app needs to open it
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    category: str = "general"
    # e-mail only: the one-click unsubscribe URL (RFC 8058)
    unsubscribe_url: str | None = None

    def __post_init__(self) -> None:
        if not _PLAIN_ID.match(self.delivery_id):
            raise ValueError("delivery_id must be 1-128 letters, digits, '.', '_' or '-'")
        if self.channel is Channel.PUSH and self.platform is None:
            raise ValueError("a push delivery names its platform")

    @property
    def delivery_uuid(self) -> uuid.UUID:
        """The delivery id as a UUID (itself when it is one), the same on every retry."""
        try:
            return uuid.UUID(self.delivery_id)
        except ValueError:
            return uuid.uuid5(_ID_NAMESPACE, self.delivery_id)


@dataclass(frozen=True, slots=True)
class Result:
    status: Status
    provider_id: str | None = None
    error_code: Code | None = None
    # seconds, when the provider (or an open breaker) said how long to wait
    retry_after: float | None = None
    # the provider's own word for a failure ("BadDeviceToken", "UNREGISTERED", "HTTP 503"), short
    reason: str | None = None

    @classmethod
    def sent(cls, provider_id: str | None) -> Result:
        return cls(Status.SENT, provider_id=provider_id)

    @classmethod
    def retry(cls, code: Code, *, retry_after: float | None = None, reason: str | None = None) -> Result:
        return cls(Status.RETRY, error_code=code, retry_after=retry_after, reason=reason)

    @classmethod
    def rejected(cls, code: Code, *, reason: str | None = None) -> Result:
        return cls(Status.REJECTED, error_code=code, reason=reason)

    @property
    def recipient_gone(self) -> bool:
        """The device or address will never accept anything again: deactivate it."""
        return self.status is Status.REJECTED and self.error_code is Code.INVALID_RECIPIENT


class ProviderFailure(Exception):
    """The provider, not this message, failed: counted by its breaker, answered as a retry."""

    def __init__(self, code: Code, *, reason: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(code.value if reason is None else f"{code.value}: {reason}")
        self.result = Result.retry(code, retry_after=retry_after, reason=reason)


class NetworkFailure(ProviderFailure):
    """The connection failed before an answer: tried again within the send (core/delivery/retries.py)."""

    def __init__(self, reason: str) -> None:
        super().__init__(Code.NETWORK_ERROR, reason=reason)


class Provider(Protocol):
    """One way of delivering; `send` raises `ProviderFailure` when the provider itself is failing."""

    name: str

    async def send(self, message: Outgoing) -> Result: ...

    async def aclose(self) -> None: ...


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header given in seconds (the HTTP-date form is rare from these providers)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
