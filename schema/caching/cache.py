"""The response cache of one process: which operations may be kept, for how long, under which key,
and what a committed write drops.

Data that changes all the time is not invalidated by its writes: the analytics counters fed by
ingestion (and the flag usage counted from evaluations) would drop every dashboard's entry several
times a second. An answer that read them is kept at most `STALE_WITHIN[table]` seconds instead, and
the README says so; everything else an answer read is invalidated by the writes that change it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable

import redis.asyncio as aioredis
from graphql import DocumentNode, FragmentDefinitionNode, GraphQLSchema, OperationDefinitionNode, print_schema

from core.changes import Changes
from core.settings import Settings
from core.urls import database_identity
from core.viewer import Viewer
from schema.caching.hints import NOT_CACHEABLE, Hints, Policy
from schema.caching.keys import entry_key, scope_of
from schema.caching.store import ResponseStore

# Tables written continuously, and how stale (seconds) an answer that read them may be served.
STALE_WITHIN = {
    "campaign_analytics_daily": 60,
    "campaign_analytics_segments": 60,
    "campaign_trend_data": 60,
    "campaign_event_receipts": 60,
    "feature_flag_usage": 60,
    "feature_flag_analytics": 60,
}
# Operations whose policy is remembered (documents are cached by the parser too; this only saves
# the walk over the document).
POLICIES_KEPT = 2048


def _table_of(tag: str) -> str:
    return tag.split(".", 1)[0]


class ResponseCache:
    def __init__(
        self, schema: GraphQLSchema, store: ResponseStore, *, max_age_cap_s: int, max_entry_bytes: int
    ):
        self.hints = Hints(schema)
        self.store = store
        self.max_age_cap_s = max_age_cap_s
        self.max_entry_bytes = max_entry_bytes
        # Keyed by the parsed document's identity (the parser's cache hands out the same object for
        # the same text); the document is held beside its policy so its id is not reused meanwhile.
        self._policies: OrderedDict[tuple[int, str | None], tuple[DocumentNode, Policy]] = OrderedDict()

    def policy(self, document: DocumentNode, operation_name: str | None) -> Policy:
        memo = (id(document), operation_name)
        found = self._policies.get(memo)
        if found is not None:
            return found[1]
        operation = _operation(document, operation_name)
        if operation is None:
            return NOT_CACHEABLE
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        policy = self.hints.policy(operation, fragments)
        policy = Policy(min(policy.max_age, self.max_age_cap_s), policy.scope)
        self._policies[memo] = (document, policy)
        if len(self._policies) > POLICIES_KEPT:
            self._policies.popitem(last=False)
        return policy

    def key(
        self,
        *,
        query: str,
        operation_name: str | None,
        variables: dict | None,
        viewer: Viewer,
        policy: Policy,
    ) -> str | None:
        scope = scope_of(viewer, policy.scope)
        if scope is None:
            return None
        return entry_key(query, operation_name, variables, scope)

    def kept_for(self, policy: Policy, tables: Iterable[str]) -> int:
        """How long an answer may be kept: its policy's max age, bounded by the continuous data it read."""
        bounds = [STALE_WITHIN[t] for t in tables if t in STALE_WITHIN]
        return min([policy.max_age, *bounds])

    @staticmethod
    def entry_tags(tags: Iterable[str]) -> list[str]:
        return [t for t in tags if _table_of(t) not in STALE_WITHIN]

    async def on_changes(self, changes: Changes) -> None:
        """The dispatcher's subscriber: a committed write drops every entry made of what it changed."""
        await self.store.invalidate(t for t in changes.tags if _table_of(t) not in STALE_WITHIN)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == name), None)


def namespace(schema: GraphQLSchema, settings: Settings) -> str:
    """Whose entries: this schema's (a deployment that changes a field never serves the old field's
    answers) over this database (two databases sharing a Redis share nothing)."""
    database = database_identity(settings.database_url)
    digest = hashlib.sha256(print_schema(schema).encode())
    digest.update(b"\0" + database.encode())
    return digest.hexdigest()[:16]


def response_cache_for(
    schema: GraphQLSchema, settings: Settings, client: aioredis.Redis
) -> ResponseCache | None:
    """The process's response cache, or None when RESPONSE_CACHE is off."""
    if not settings.response_cache:
        return None
    # A tag's invalidation is remembered longer than any request that could have read it can run.
    tag_memory_s = max(60, int(settings.request_timeout_s * 4))
    store = ResponseStore(
        client,
        prefix=f"{settings.redis_key_prefix}rc:{namespace(schema, settings)}:",
        tag_memory_s=tag_memory_s,
    )
    return ResponseCache(
        schema,
        store,
        max_age_cap_s=settings.response_cache_max_age_s,
        max_entry_bytes=settings.response_cache_max_entry_bytes,
    )
