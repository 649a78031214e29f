"""The floor: a bare Starlette + asyncpg + orjson app doing the server's work for the bench documents
apart from GraphQL, to show what GraphQL (Strawberry, the loaders, the ORM) costs on top.

    DATABASE_URL=... REDIS_URL=... JWT_SECRET=... python -m uvicorn bench.floor:create_app --factory

Per request, as the server does: the request id and security headers of transport/surface.py (and
the body limit), the bearer token checked with core.tokens and the erased-account EXISTS in Redis
(resolvers/auth/revocations.py), one draw from the Redis token bucket (core/ratelimit.py) costing
what the server's cost analysis charges, and one `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`
transaction on one pooled asyncpg connection (DB_POOL_SIZE of them). Then frozen SQL
(bench/floor_sql.py) and `data` assembled by hand (bench/floor_answers.py).

With FLOOR_ANSWERS_FROM_REDIS=true (the response cache's row of bench/compare.py, `--cache`) the
`data` of each document, viewer role and variables is kept in Redis: after the first request every
answer is those bytes from one Redis GET, spliced into the body unparsed.

It answers POST /graphql for the three documents of bench/documents.py only, matched by their text;
any other document is refused. Staff only for the campaign documents (the rows every staff member
sees); evaluateFlags for anyone with a token.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import floor_answers as answers
from bench import floor_sql as sql
from bench.documents import CAMPAIGNS_PAGE, EVALUATE_FLAGS, FLAT_LIST
from core.errors import Unauthenticated
from core.policies import EVERYONE, STAFF
from core.ratelimit import TokenBucket, rate_limit_identity
from core.redis import create_redis
from core.settings import Settings, get_settings
from core.tokens import signing_secret, viewer_from_authorization
from core.viewer import Viewer

# How long the floor keeps an answer in Redis (FLOOR_ANSWERS_FROM_REDIS).
KEPT_S = 3600
# What transport/surface.py adds to every /graphql answer (written again here, not imported).
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": API_CSP,
    "cache-control": "no-store",
}
HSTS = "max-age=63072000; includeSubDomains"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
CORS_ALLOWED_HEADERS = ["authorization", "content-type", "x-request-id", "idempotency-key", "x-api-key"]
CORS_EXPOSED_HEADERS = ["x-request-id", "idempotent-replayed", "retry-after"]
ERASED_KEY = "erased-user:"

# Document text -> (answer, roles allowed, cost). The costs are what schema/extensions/cost.py
# charges these documents with the bench's 30-day range (tests/bench/test_floor.py checks them).
DOCUMENTS: dict[str, tuple[answers.Answer, frozenset[Any], int]] = {
    CAMPAIGNS_PAGE: (answers.campaigns_page, STAFF, 18105),
    FLAT_LIST: (answers.flat_list, STAFF, 201),
    EVALUATE_FLAGS: (answers.evaluate_flags, EVERYONE, 1201),
}


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class Floor:
    """The app's shared resources (opened by the lifespan) and its one endpoint."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.secret = signing_secret(settings)
        self.pool: asyncpg.Pool | None = None
        self.redis: Any = None
        self.bucket: TokenBucket | None = None
        self.hsts = settings.is_production
        self.from_redis = os.environ.get("FLOOR_ANSWERS_FROM_REDIS", "").lower() in ("1", "true", "yes")

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        s = self.settings
        self.pool = await asyncpg.create_pool(
            asyncpg_dsn(s.database_url or ""),
            min_size=1,
            max_size=s.db_pool_size,
            server_settings={
                "application_name": "swipesavvy-floor",
                "timezone": "UTC",
                "statement_timeout": str(s.db_statement_timeout_ms),
            },
        )
        self.redis = create_redis(s.redis_url or "")
        self.bucket = TokenBucket(
            self.redis,
            prefix=s.redis_key_prefix,
            capacity=s.rate_limit_bucket,
            refill_per_second=s.rate_limit_refill_per_second,
        )
        try:
            yield
        finally:
            await self.redis.aclose()
            await self.pool.close()

    def _headers(self, request_id: str) -> dict[str, str]:
        headers = {"x-request-id": request_id, **SECURITY_HEADERS}
        if self.hsts:
            headers["strict-transport-security"] = HSTS
        return headers

    def _error(
        self, status: int, message: str, media: str, request_id: str, code: str = "BAD_USER_INPUT"
    ) -> Response:
        body = {"errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}]}
        return Response(orjson.dumps(body), status, self._headers(request_id), media_type=media)

    async def graphql(self, request: Request) -> Response:
        given = request.headers.get("x-request-id")
        request_id = given if given and VALID_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        accept = request.headers.get("accept", "")
        media = GRAPHQL_RESPONSE_JSON if GRAPHQL_RESPONSE_JSON in accept else JSON
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.settings.max_body_bytes:
            return self._error(413, "The request body is too large.", media, request_id)
        try:
            viewer = viewer_from_authorization(request.headers.get("authorization"), secret=self.secret)
            if viewer.user_id is not None and await self._erased(viewer.user_id):
                raise Unauthenticated("The account of this access token was erased.")
        except Unauthenticated as exc:
            return self._error(401, exc.message, media, request_id, code="UNAUTHENTICATED")
        if request.headers.get("content-type", "").split(";", 1)[0].strip().lower() != JSON:
            return self._error(
                415, "POST requests must have Content-Type application/json.", media, request_id
            )
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return self._error(400, "The request body is not valid JSON.", media, request_id)
        known = DOCUMENTS.get(body.get("query")) if isinstance(body, dict) else None
        if known is None:
            return self._error(400, "The floor answers the bench documents only.", media, request_id)
        answer, roles, cost = known
        if viewer.role not in roles:
            return self._error(200, "This document is for staff only.", media, request_id, code="FORBIDDEN")
        variables = body.get("variables") or {}
        kept = None
        if self.from_redis:
            digest = hashlib.sha256(orjson.dumps([body["query"], variables, viewer.role.value]))
            kept = f"{self.settings.redis_key_prefix}floor:{digest.hexdigest()}"
        return await self._answer(request, viewer, answer, cost, variables, media, request_id, kept)

    async def _answer(
        self,
        request: Request,
        viewer: Viewer,
        answer: answers.Answer,
        cost: int,
        variables: dict[str, Any],
        media: str,
        request_id: str,
        kept: str | None,
    ) -> Response:
        assert self.bucket is not None and self.pool is not None
        client_ip = request.client.host if request.client else None
        draw = await self.bucket.draw(rate_limit_identity(viewer, client_ip), cost)
        if not draw.allowed:
            response = self._error(429, "Rate limit exceeded.", media, request_id, code="RATE_LIMITED")
            response.headers["retry-after"] = str(draw.retry_after_header)
            return response
        found = None if kept is None else await self.redis.get(kept)
        try:
            if found is not None:
                data: Any = orjson.Fragment(found)
            else:
                async with asyncio.timeout(self.settings.request_timeout_s), self.pool.acquire() as conn:
                    async with conn.transaction(isolation="repeatable_read", readonly=True):
                        data = await answer(conn, viewer, variables)
                if kept is not None:
                    await self.redis.set(kept, orjson.dumps(data), ex=KEPT_S)
        except answers.Refused as refusal:
            return self._error(400, refusal.message, media, request_id, code=refusal.code)
        s = self.settings
        available = None if draw.available is None else math.floor(draw.available)
        extensions = {
            "cost": {
                "requestedQueryCost": cost,
                "maxCost": s.graphql_max_cost,
                "throttleStatus": {
                    "maximumAvailable": s.rate_limit_bucket,
                    "currentlyAvailable": available,
                    "restoreRate": s.rate_limit_refill_per_second,
                },
            }
        }
        body = orjson.dumps({"data": data, "extensions": extensions})
        return Response(body, 200, self._headers(request_id), media_type=media)

    async def _erased(self, user_id: int) -> bool:
        """As resolvers/auth/revocations.is_erased: one EXISTS, PostgreSQL when Redis cannot answer."""
        try:
            return bool(await self.redis.exists(f"{self.settings.redis_key_prefix}{ERASED_KEY}{user_id}"))
        except (RedisError, OSError):
            pass
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(sql.USER_DELETED_AT, user_id)
        return row is None or row["deleted_at"] is not None

    async def ready(self, request: Request) -> Response:
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            await conn.fetchval(sql.READY)
        return Response(b'{"status":"ok"}', 200, media_type=JSON)


def create_app(settings: Settings | None = None) -> Starlette:
    """The floor's ASGI app (uvicorn: `bench.floor:create_app --factory`)."""
    settings = settings or get_settings()
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError("the floor needs DATABASE_URL and REDIS_URL")
    floor = Floor(settings)
    routes = [
        Route("/graphql", floor.graphql, methods=["POST"]),
        Route("/readyz", floor.ready),
        Route("/healthz", floor.ready),
    ]
    middleware = [
        # The server's CORS layer, configured alike (with no Origin header it passes the request on).
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST"],
            allow_headers=CORS_ALLOWED_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=600,
        ),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=floor.lifespan)
