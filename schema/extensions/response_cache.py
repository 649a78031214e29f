"""Answers of query operations kept in Redis (schema/caching/), and the Cache-Control they are sent with.

A query whose hints give it a max age is looked up before it runs (after the cost and rate limit,
which a cached answer pays like any other); a hit is the stored `data`, spliced into the response
as it was serialised, with `extensions` (cost, request id) made anew. A miss runs, recording what it
reads (core/read_tags.py); an answer without errors is then kept under those tags, unless one of
them changed meanwhile (schema/caching/store.py). In development `extensions.cache` says which.

HTTP: `public, max-age=N` only for an anonymous viewer's answer made of PUBLIC fields alone, which
any shared cache may keep; other cacheable answers are `private, no-cache` (a browser may keep them
but must ask again, so a client never reads its own write stale from its HTTP cache); mutations
and answers that may not be kept are `no-store`. Every answer varies by who asks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from core import read_tags
from core.metrics_hooks import cache_lookup
from schema.caching.cache import ResponseCache
from schema.caching.hints import NOT_CACHEABLE, CacheScope, Policy

VARY = "Authorization, X-API-Key, Accept"
NO_STORE = "no-store"
PRIVATE = "private, no-cache"


class ResponseCaching(SchemaExtension):
    def __init__(self) -> None:
        super().__init__()
        self._report: dict[str, Any] | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        ctx = ec.context
        cache: ResponseCache | None = getattr(getattr(ctx, "services", None), "responses", None)
        if cache is None or ec.operation_type is not OperationType.QUERY or ec.graphql_document is None:
            _send(ctx, NOT_CACHEABLE, kept=False)
            yield
            return
        policy = cache.policy(ec.graphql_document, ec.operation_name)
        key = None
        if policy.cacheable:
            key = cache.key(
                query=ec.query or "",
                operation_name=ec.operation_name,
                variables=ec.variables,
                viewer=ctx.viewer,
                policy=policy,
            )
        if key is None:
            _send(ctx, NOT_CACHEABLE, kept=False)
            yield
            return
        lookup = await cache.store.lookup(key)
        cache_lookup("response", hit=lookup.entry is not None)
        if lookup.entry is not None:
            entry = lookup.entry
            ec.result = ExecutionResult(data=orjson.Fragment(entry.data), errors=None)  # type: ignore[arg-type]
            self._reported(ctx, hit=True, age=entry.age_s, max_age=entry.max_age_s)
            _send(ctx, Policy(max(1, entry.max_age_s - entry.age_s), policy.scope), kept=True)
            yield
            return
        reading = read_tags.start()
        try:
            yield
        finally:
            read_tags.stop()
        result = ec.result
        if result is None or result.errors or not isinstance(result.data, dict) or lookup.seen is None:
            self._reported(ctx, hit=False, age=0, max_age=0)
            _send(ctx, NOT_CACHEABLE, kept=False)
            return
        max_age = cache.kept_for(policy, reading.tables)
        data = orjson.dumps(result.data)
        kept = max_age > 0 and len(data) <= cache.max_entry_bytes
        if kept:
            kept = await cache.store.store(
                key, data, tags=cache.entry_tags(reading.tags), seen=lookup.seen, max_age_s=max_age
            )
        self._reported(ctx, hit=False, age=0, max_age=max_age if kept else 0)
        _send(ctx, Policy(max_age, policy.scope) if kept else NOT_CACHEABLE, kept=kept)

    def _reported(self, ctx: Any, *, hit: bool, age: int, max_age: int) -> None:
        if not ctx.settings.is_production:
            self._report = {"hit": hit, "age": age, "maxAge": max_age}

    def get_results(self) -> dict[str, Any]:
        return {} if self._report is None else {"cache": self._report}


def _send(ctx: Any, policy: Policy, *, kept: bool) -> None:
    """Cache-Control for this operation, never looser than a batch's earlier operations said."""
    response = getattr(ctx, "response", None)
    if response is None:
        return
    headers = response.headers
    if not kept or not policy.cacheable:
        wanted = NO_STORE
    elif policy.scope is CacheScope.PUBLIC and not ctx.viewer.is_authenticated:
        wanted = f"public, max-age={policy.max_age}"
    else:
        wanted = PRIVATE
    headers["cache-control"] = _stricter(headers.get("cache-control"), wanted)
    headers["vary"] = VARY


def _stricter(current: str | None, wanted: str) -> str:
    """The stricter of two Cache-Control values (a persisted query's miss may have set one)."""
    if current is None:
        return wanted
    if NO_STORE in (current, wanted):
        return NO_STORE
    private = [value for value in (current, wanted) if not value.startswith("public")]
    if private:
        return private[0]
    return f"public, max-age={min(int(value.rsplit('=', 1)[1]) for value in (current, wanted))}"
