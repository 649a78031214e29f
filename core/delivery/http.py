"""What the HTTP providers share: an httpx client made on first use, and its errors as failures."""

from __future__ import annotations

import asyncio
import ssl

import httpx

from core.delivery.message import Code, NetworkFailure, ProviderFailure


class LazyClient:
    """An `httpx.AsyncClient` opened on the first send (in the loop that sends), closed with its provider."""

    def __init__(self, *, timeout: float, tls: ssl.SSLContext, http2: bool = False) -> None:
        self._options = {"timeout": timeout, "verify": tls, "http2": http2, "follow_redirects": False}
        self._client: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> httpx.AsyncClient:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = httpx.AsyncClient(**self._options)  # type: ignore[arg-type]
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


# Connections refused or dropped fail fast, and trying again at once often works. A timeout (connect
# included) already took its full time: tried again later, or a send would take attempts x timeout.
RETRIED = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError)


def transport_failure(exc: httpx.TransportError, provider: str) -> ProviderFailure:
    """A connection refused or dropped is retried within the send; a timeout is not."""
    if isinstance(exc, RETRIED):
        return NetworkFailure(f"{provider} {type(exc).__name__}")
    if isinstance(exc, httpx.TimeoutException):
        return ProviderFailure(Code.TIMEOUT, reason=provider)
    return ProviderFailure(Code.NETWORK_ERROR, reason=f"{provider} {type(exc).__name__}")
