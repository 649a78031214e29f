"""Firebase Cloud Messaging, HTTP v1: `POST /v1/projects/<id>/messages:send` with an OAuth2 token.

The access token comes from the service account's JSON key by the OAuth2 JWT bearer grant (RFC 7523,
what Google's libraries do): an RS256 assertion signed with the key, posted to its `token_uri` (or
FCM_TOKEN_URL), kept until five minutes before it expires. Done here with httpx and pyjwt rather
than google-auth, whose refresh is a blocking call. FCM has no idempotency key: the delivery id is
sent in `data` (the app drops repeats) and as the Android and web notification tag (a repeat
replaces the notification on screen instead of adding one).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from core.delivery.http import LazyClient, transport_failure
from core.delivery.message import Code, Outgoing, Platform, ProviderFailure, Result, retry_after_seconds
from core.delivery.tls import client_context
from core.settings import Settings

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_TTL_S = 3600
# A token is renewed this long before it expires, so none expires between check and use.
TOKEN_MARGIN_S = 300
ERROR_DETAIL = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_DETAIL = "type.googleapis.com/google.rpc.BadRequest"


def fcm_message(message: Outgoing) -> dict[str, Any]:
    # FCM's data values must be strings.
    data = {key: v if isinstance(v, str) else json.dumps(v) for key, v in message.data.items()}
    data |= {"deliveryId": message.delivery_id, "category": message.category}
    body: dict[str, Any] = {
        "token": message.address,
        "notification": {"title": message.title, "body": message.body},
        "data": data,
    }
    if message.platform is Platform.ANDROID:
        body["android"] = {"notification": {"tag": message.delivery_id}}
    elif message.platform is Platform.WEB:
        body["webpush"] = {"notification": {"tag": message.delivery_id}}
    elif message.platform is Platform.IOS:
        body["apns"] = {"headers": {"apns-collapse-id": str(message.delivery_uuid)}}
    return {"message": body}


class FcmProvider:
    name = "fcm"

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        key_file = settings.fcm_service_account_file
        account = json.loads(key_file.read_text()) if key_file else {}
        self.client_email: str = account.get("client_email", "")
        self.private_key: str = account.get("private_key", "")
        self.private_key_id: str | None = account.get("private_key_id")
        self.token_url: str = settings.fcm_token_url or account.get("token_uri", "")
        base = settings.fcm_base_url.rstrip("/")
        self.send_url = f"{base}/v1/projects/{settings.fcm_project_id}/messages:send"
        self.clock = clock
        self.client = LazyClient(timeout=settings.fcm_timeout_s, tls=client_context(settings), http2=True)
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()

    async def access_token(self) -> str:
        """The OAuth2 token, fetched once for all the sends waiting on it."""
        async with self._token_lock:
            if self._token is None or self.clock() >= self._token[1]:
                self._token = await self._fetch_token()
            return self._token[0]

    async def _fetch_token(self) -> tuple[str, float]:
        now = self.clock()
        claims = {
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_url,
            "iat": int(now),
            "exp": int(now) + ASSERTION_TTL_S,
        }
        headers = {"kid": self.private_key_id} if self.private_key_id else None
        assertion = jwt.encode(claims, self.private_key, algorithm="RS256", headers=headers)
        client = await self.client.get()
        try:
            grant = {"grant_type": GRANT_TYPE, "assertion": assertion}
            response = await client.post(self.token_url, data=grant)
        except httpx.TransportError as exc:
            raise transport_failure(exc, "fcm token") from None
        if response.status_code != 200:
            code = Code.PROVIDER_AUTH if response.status_code < 500 else Code.PROVIDER_ERROR
            raise ProviderFailure(code, reason=f"token HTTP {response.status_code}")
        try:
            answer = response.json()
            return str(answer["access_token"]), now + float(answer.get("expires_in", 3600)) - TOKEN_MARGIN_S
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ProviderFailure(Code.PROVIDER_AUTH, reason="token answer") from None

    async def send(self, message: Outgoing) -> Result:
        token = await self.access_token()
        client = await self.client.get()
        try:
            response = await client.post(
                self.send_url, json=fcm_message(message), headers={"authorization": f"Bearer {token}"}
            )
        except httpx.TransportError as exc:
            raise transport_failure(exc, "fcm") from None
        if response.status_code == 200:
            return Result.sent(response.json().get("name"))
        return self._failure(response)

    def _failure(self, response: httpx.Response) -> Result:
        status, code, token_field = _error_of(response)
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        reason = code or status or f"HTTP {response.status_code}"
        if code in {"UNREGISTERED", "SENDER_ID_MISMATCH"} or (code == "INVALID_ARGUMENT" and token_field):
            return Result.rejected(Code.INVALID_RECIPIENT, reason=reason)
        if code == "QUOTA_EXCEEDED" or response.status_code == 429:
            return Result.retry(Code.RATE_LIMITED, retry_after=retry_after, reason=reason)
        if response.status_code == 401:
            self._token = None
            raise ProviderFailure(Code.PROVIDER_AUTH, reason=reason)
        if code == "THIRD_PARTY_AUTH_ERROR" or response.status_code == 403:
            raise ProviderFailure(Code.PROVIDER_AUTH, reason=reason)
        if response.status_code >= 500 or code in {"UNAVAILABLE", "INTERNAL"}:
            raise ProviderFailure(Code.PROVIDER_ERROR, reason=reason, retry_after=retry_after)
        return Result.rejected(Code.MESSAGE_REFUSED, reason=reason)

    async def aclose(self) -> None:
        await self.client.aclose()


def _error_of(response: httpx.Response) -> tuple[str | None, str | None, bool]:
    """The error's status, its FCM error code, and whether a field violation names the token."""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return None, None, False
    if not isinstance(error, dict):
        return None, None, False
    code = status = error.get("status") if isinstance(error.get("status"), str) else None
    token_field = False
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        if detail.get("@type") == ERROR_DETAIL and isinstance(detail.get("errorCode"), str):
            code = detail["errorCode"]
        if detail.get("@type") == BAD_REQUEST_DETAIL:
            fields = [v.get("field") for v in detail.get("fieldViolations") or [] if isinstance(v, dict)]
            token_field = "message.token" in fields
    return status, (code[:64] if code else None), token_field
