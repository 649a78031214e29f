"""What a committed write drops from the response cache, for any process: a server's requests
(schema/caching/cache.py) and a job worker's jobs and event fold (jobs/worker.py) alike.

Tables written by every request of their kind (a batch of flag checks, an event's receipt) do not
drop entries: they would drop every dashboard's several times a second. An answer that read them is
kept at most `STALE_WITHIN[table]` seconds instead. The campaign counters are written by the event
fold only (resolvers/analytics/event_log.py), at most once per fold round, so their writes do drop the
entries made of them: a kept answer is as fresh as the counters, which lag the accepted events by
the fold's delay (about INGEST_FOLD_IDLE_S). They still cap an answer's max age at COUNTERS_STALE_S,
for an HTTP cache no invalidation reaches; 60 s as before the fold (5 s was tried: the cross-viewer
proof, tests/caching/test_cross_viewer.py, then sees entries expire between its fill and its asks on
a loaded machine).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import redis.asyncio as aioredis

from core.changes import Changes, Subscriber
from core.response_store import ResponseStore
from core.settings import Settings
from core.urls import database_identity

COUNTERS_STALE_S = 60
# Tables written continuously, and how stale (seconds) an answer that read them may be served.
STALE_WITHIN = {
    "campaign_analytics_daily": COUNTERS_STALE_S,
    "campaign_analytics_segments": COUNTERS_STALE_S,
    "campaign_trend_data": COUNTERS_STALE_S,
    "campaign_event_receipts": 60,
    "feature_flag_usage": 60,
    "feature_flag_analytics": 60,
}
# Of those, the tables whose writes drop nothing (written by requests, many a second).
NOT_INVALIDATED = frozenset({"campaign_event_receipts", "feature_flag_usage", "feature_flag_analytics"})


def table_of(tag: str) -> str:
    return tag.split(".", 1)[0]


def invalidated(tags: Iterable[str]) -> list[str]:
    """The tags a write drops entries by (and an entry is kept under)."""
    return [t for t in tags if table_of(t) not in NOT_INVALIDATED]


def tags_prefix(settings: Settings) -> str:
    """Where tags and invalidation numbers live: per database, whatever the schema (two deployments
    of different schemas over one database invalidate each other's entries, as they must)."""
    database = hashlib.sha256(database_identity(settings.database_url).encode()).hexdigest()[:16]
    return f"{settings.redis_key_prefix}rc:{database}:t:"


def tag_memory_s(settings: Settings) -> int:
    # A tag's invalidation is remembered longer than any request that could have read it can run.
    return max(60, int(settings.request_timeout_s * 4))


def invalidation_for(settings: Settings, client: aioredis.Redis) -> Subscriber | None:
    """A change dispatcher's subscriber dropping what committed writes made stale; None when
    RESPONSE_CACHE is off. For processes that only write (job workers): no entry is looked up."""
    if not settings.response_cache:
        return None
    store = ResponseStore(
        client, prefix="", tags_prefix=tags_prefix(settings), tag_memory_s=tag_memory_s(settings)
    )

    async def on_changes(changes: Changes) -> None:
        await store.invalidate(invalidated(changes.tags))

    return on_changes
