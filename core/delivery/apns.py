"""Apple Push Notification service, its HTTP/2 provider API with token-based authentication.

`POST /3/device/<token>` with `apns-id` = the delivery id as a UUID (Apple reports it back and a
repeat carries the same one) and `apns-collapse-id` = the same, so a repeat replaces the shown
notification instead of adding a second. The bearer token is an ES256 JWT (kid = key id, iss = team
id, iat) that Apple accepts for an hour and wants reused: made once and renewed after 50 minutes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from core.delivery.http import LazyClient, transport_failure
from core.delivery.message import Code, Outgoing, ProviderFailure, Result, retry_after_seconds
from core.delivery.tls import client_context
from core.settings import Settings

TOKEN_RENEW_S = 50 * 60
# Device tokens are hex (64 characters today); anything else would only be refused by Apple.
DEVICE_TOKEN = re.compile(r"^[0-9A-Fa-f]{16,400}$")
# Reasons (Apple's list) that mean this device token will never work again for this app.
DEAD_TOKEN_REASONS = {"BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered", "ExpiredToken"}
# Reasons that say our provider token is at fault: renew it before the next send.
TOKEN_REASONS = {"ExpiredProviderToken", "InvalidProviderToken", "MissingProviderToken"}


def apns_payload(message: Outgoing) -> dict[str, Any]:
    """The `aps` dictionary and the deep-link data as custom keys beside it."""
    data = {key: value for key, value in message.data.items() if key != "aps"}
    return {
        "aps": {
            "alert": {"title": message.title, "body": message.body},
            "sound": "default",
            "thread-id": message.category,
        },
        **data,
        "deliveryId": message.delivery_id,
    }


class ApnsProvider:
    name = "apns"

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self.base_url = settings.apns_base_url.rstrip("/")
        self.topic = settings.apns_topic or ""
        self.key_id = settings.apns_key_id or ""
        self.team_id = settings.apns_team_id or ""
        key_file = settings.apns_private_key_file
        self.private_key = key_file.read_text() if key_file else ""
        self.clock = clock
        self.client = LazyClient(timeout=settings.apns_timeout_s, tls=client_context(settings), http2=True)
        self._token: tuple[str, float] | None = None

    def provider_token(self) -> str:
        """The current JWT, made anew once it is TOKEN_RENEW_S old."""
        now = self.clock()
        if self._token is None or now - self._token[1] >= TOKEN_RENEW_S:
            token = jwt.encode(
                {"iss": self.team_id, "iat": int(now)},
                self.private_key,
                algorithm="ES256",
                headers={"kid": self.key_id},
            )
            self._token = (token, now)
        return self._token[0]

    async def send(self, message: Outgoing) -> Result:
        if not DEVICE_TOKEN.match(message.address):
            return Result.rejected(Code.INVALID_RECIPIENT, reason="BadDeviceToken")
        apns_id = str(message.delivery_uuid)
        headers = {
            "authorization": f"bearer {self.provider_token()}",
            "apns-id": apns_id,
            "apns-collapse-id": apns_id,
            "apns-push-type": "alert",
            "apns-topic": self.topic,
            "apns-priority": "10",
        }
        client = await self.client.get()
        try:
            response = await client.post(
                f"{self.base_url}/3/device/{message.address}", json=apns_payload(message), headers=headers
            )
        except httpx.TransportError as exc:
            raise transport_failure(exc, "apns") from None
        return self._outcome(response)

    def _outcome(self, response: httpx.Response) -> Result:
        status = response.status_code
        if status == 200:
            return Result.sent(response.headers.get("apns-unique-id") or response.headers.get("apns-id"))
        reason = _reason(response)
        if status == 410 or reason in DEAD_TOKEN_REASONS:
            return Result.rejected(Code.INVALID_RECIPIENT, reason=reason or f"HTTP {status}")
        if status == 429:
            # TooManyRequests: this one device is sent to too often.
            return Result.retry(Code.RATE_LIMITED, reason=reason, retry_after=_retry_after(response))
        if status == 403 or reason in TOKEN_REASONS:
            self._token = None
            raise ProviderFailure(Code.PROVIDER_AUTH, reason=reason or "HTTP 403")
        if status >= 500:
            raise ProviderFailure(Code.PROVIDER_ERROR, reason=reason or f"HTTP {status}")
        # Any other 4xx is about this message (PayloadTooLarge, BadCollapseId, ...): sending it again fails.
        return Result.rejected(Code.MESSAGE_REFUSED, reason=reason or f"HTTP {status}")

    async def aclose(self) -> None:
        await self.client.aclose()


def _reason(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    reason = body.get("reason") if isinstance(body, dict) else None
    return reason[:64] if isinstance(reason, str) else None


def _retry_after(response: httpx.Response) -> float | None:
    return retry_after_seconds(response.headers.get("retry-after"))
