"""Signed webhooks, as the Standard Webhooks specification (standardwebhooks.com) has them.

Each POST carries `webhook-id` (the delivery id, the same on every retry, so a receiver drops
repeats), `webhook-timestamp` (this attempt, Unix seconds) and `webhook-signature`:
`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` with the key of WEBHOOK_SECRET (`whsec_` +
base64). A receiver verifies it with any Standard Webhooks library and rejects stale timestamps.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import orjson

from core.delivery.http import LazyClient, transport_failure
from core.delivery.message import Code, Outgoing, ProviderFailure, Result, retry_after_seconds
from core.delivery.tls import client_context
from core.settings import Settings

SECRET_PREFIX = "whsec_"
EVENT_TYPE = "notification.created"


def signing_key(secret: str) -> bytes:
    """The key bytes of a `whsec_…` secret (the prefix is optional, the base64 padding too)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    if not key:
        raise ValueError("WEBHOOK_SECRET holds no key")
    return key


def signature(key: bytes, *, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def payload(message: Outgoing) -> bytes:
    """The Standard Webhooks envelope: type, timestamp, data."""
    return orjson.dumps(
        {
            "type": EVENT_TYPE,
            "timestamp": datetime.now(UTC).isoformat(),
            "data": {
                "deliveryId": message.delivery_id,
                "category": message.category,
                "title": message.title,
                "body": message.body,
                "data": dict(message.data),
            },
        }
    )


class WebhookProvider:
    name = "webhook"

    def __init__(self, settings: Settings) -> None:
        self.key = signing_key(settings.webhook_secret or "")
        self.https_only = settings.webhook_https_required
        self.client = LazyClient(timeout=settings.webhook_timeout_s, tls=client_context(settings))

    def circuit(self, message: Outgoing) -> str:
        """One breaker per receiving host: one dead receiver must not hold back the others."""
        target = _target(message.address)
        return f"webhook:{target[1]}:{target[2] or ''}" if target else "webhook:invalid"

    async def send(self, message: Outgoing) -> Result:
        target = _target(message.address)
        allowed = ("https",) if self.https_only else ("https", "http")
        if target is None or target[0] not in allowed:
            return Result.rejected(Code.INVALID_RECIPIENT, reason="webhook URL")
        body = payload(message)
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": message.delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(
                self.key, webhook_id=message.delivery_id, timestamp=timestamp, body=body
            ),
        }
        client = await self.client.get()
        try:
            response = await client.post(message.address, content=body, headers=headers)
        except httpx.InvalidURL:
            return Result.rejected(Code.INVALID_RECIPIENT, reason="webhook URL")
        except httpx.TransportError as exc:
            raise transport_failure(exc, "webhook") from None
        return _outcome(response)

    async def aclose(self) -> None:
        await self.client.aclose()


def _target(url: str) -> tuple[str, str, int | None] | None:
    """Scheme, host and port of a receiver's URL; None when it is not one (a URL is the user's input)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or any(c.isspace() for c in url):
        return None
    return parts.scheme, parts.hostname, port


def _outcome(response: httpx.Response) -> Result:
    status = response.status_code
    if 200 <= status < 300:
        return Result.sent(response.headers.get("webhook-id") or None)
    if status == 410:
        # Gone: the receiver says this endpoint will never take a webhook again.
        return Result.rejected(Code.INVALID_RECIPIENT, reason="HTTP 410")
    retry_after = retry_after_seconds(response.headers.get("retry-after"))
    if status == 429:
        return Result.retry(Code.RATE_LIMITED, retry_after=retry_after, reason="HTTP 429")
    # 5xx, and any other answer (a redirect, a 401 from a wrong secret): the receiver is not taking
    # webhooks; retried later, and counted by its breaker.
    raise ProviderFailure(Code.PROVIDER_ERROR, reason=f"HTTP {status}", retry_after=retry_after)
