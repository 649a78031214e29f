"""`GET /metrics`: the Prometheus text of every process of this `serve` (its uvicorn workers and the
job worker beside them), read from the multiprocess directory on each scrape.

Protected by a bearer token (METRICS_TOKEN) rather than a port of its own: every uvicorn worker
shares one listening socket, and a second listener would need a process of its own beside them;
with a token, whichever worker answers reads every worker's files. In production without a token
the route answers 404, as if absent; in development it is open unless a token is set.
"""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from core.metrics import DIRECTORY
from core.settings import Settings

BEARER = "bearer "


class MetricsEndpoint:
    def __init__(self, settings: Settings) -> None:
        self.token = settings.metrics_token
        self.hidden = settings.is_production and not self.token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self._respond(Request(scope, receive))
        await response(scope, receive, send)

    def _respond(self, request: Request) -> Response:
        if self.hidden:
            return PlainTextResponse("Not Found", status_code=404)
        if self.token is not None and not self._authorised(request.headers.get("authorization", "")):
            return PlainTextResponse(
                "A bearer token (METRICS_TOKEN) is required.",
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="metrics"'},
            )
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(DIRECTORY))
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    def _authorised(self, header: str) -> bool:
        given = header[len(BEARER) :] if header.lower().startswith(BEARER) else ""
        return hmac.compare_digest(given.encode(), (self.token or "").encode())
