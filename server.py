"""The SwipeSavvy GraphQL API: the Starlette app; the command line is cli.py (`python server.py --help`)."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute

from core import sqlstats
from core.change_feed import ChangeFeed
from core.database import create_engine, create_sessionmaker
from core.drain import Drain
from core.logging import configure_logging, install_redaction
from core.memory import settle_heap
from core.metrics_hooks import instrument_pool
from core.redis import create_redis
from core.services import Services
from core.settings import Settings, get_settings
from core.state import AppState
from core.tokens import signing_secret
from core.tracing import request_middleware, start_tracing
from resolvers.flags.live_flags import LiveFlags
from resolvers.ml.recommendation_cache import RecommendationCache
from schema import schema
from schema.caching.cache import response_cache_for
from transport.health import healthz, readyz
from transport.http import GraphQLEndpoint
from transport.ide import ASSET_ROUTE
from transport.metrics import MetricsEndpoint
from transport.surface import CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS, HttpSurface
from transport.websocket import GraphQLWebSocket


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the ASGI app; the lifespan opens and closes the database pool and the Redis client."""
    settings = settings or get_settings()
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError("DATABASE_URL and REDIS_URL must be set (`python server.py serve` sets them)")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[AppState]:
        engine = create_engine(settings.database_url or "", settings)
        read_engine = (
            create_engine(settings.database_read_url, settings) if settings.database_read_url else engine
        )
        for instrumented in {engine, read_engine}:
            sqlstats.instrument(instrumented.sync_engine)
            instrument_pool(instrumented.sync_engine, "read" if instrumented is not engine else "primary")
        # Here, in the worker that serves (not before uvicorn forks or spawns it).
        tracing = start_tracing(settings, engines=list({engine, read_engine}))
        redis = create_redis(
            settings.redis_url or "",
            breaker_threshold=settings.redis_breaker_threshold,
            breaker_cooldown_s=settings.redis_breaker_cooldown_s,
        )
        live = ChangeFeed(redis, url=settings.redis_url or "", prefix=settings.redis_key_prefix)
        shared = Services(responses=response_cache_for(schema._schema, settings, redis), live=live)
        if shared.responses is not None:
            shared.changes.subscribe(shared.responses.on_changes)
        if settings.recommendation_cache_ttl_s > 0:
            shared.recommendations = RecommendationCache(redis=redis, settings=settings)
            shared.changes.subscribe(shared.recommendations.on_changes)
        if settings.flag_snapshot_enabled:
            shared.flags = LiveFlags(settings=settings, redis=redis)
            shared.changes.subscribe(shared.flags.on_changes)
            await shared.flags.start()
        shared.changes.subscribe(live.publish)
        await live.start()
        settle_heap()
        try:
            yield AppState(
                engine=engine,
                sessionmaker=create_sessionmaker(engine),
                read_sessionmaker=create_sessionmaker(read_engine),
                redis=redis,
                services=shared,
                drain=Drain(),
            )
        finally:
            await live.stop()
            if shared.flags is not None:
                await shared.flags.stop()
            await redis.aclose()
            if read_engine is not engine:
                await read_engine.dispose()
            await engine.dispose()
            if tracing is not None:
                tracing.stop()

    if not logging.getLogger().handlers:
        configure_logging(settings)  # a uvicorn worker process: `main` did not run in it
    install_redaction()
    endpoint = GraphQLEndpoint(settings, signing_secret(settings))
    routes = [
        Route("/graphql", endpoint, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", GraphQLWebSocket(settings, signing_secret(settings))),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", MetricsEndpoint(settings), methods=["GET"]),
    ]
    if endpoint.ide is not None:
        routes.append(Route(ASSET_ROUTE, endpoint.ide.asset, methods=["GET"]))
    middleware = [
        # Outermost, so preflights, 413s and errors raised by inner layers carry the headers too.
        Middleware(HttpSurface, settings=settings),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST"],
            allow_headers=CORS_ALLOWED_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=600,
        ),
    ]
    if settings.tracing_enabled:
        middleware.insert(0, request_middleware())  # outermost: the request's span holds all of it
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


if __name__ == "__main__":
    from cli import main

    sys.exit(main())
