"""The response cache of one process: which operations may be kept, for how long, under which key,
and what a committed write drops.

Data that changes all the time is not invalidated by every write: what is, and how long an answer
that read continuous data may be kept (`STALE_WITHIN`), is core/response_invalidation.py's, shared
with the job workers, and the README says so; everything else an answer read is invalidated by the
writes that change it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable

import redis.asyncio as aioredis
from graphql import DocumentNode, FragmentDefinitionNode, GraphQLSchema, OperationDefinitionNode, print_schema

from core.changes import Changes
from core.response_invalidation import STALE_WITHIN, invalidated, tag_memory_s, tags_prefix
from core.response_store import ResponseStore
from core.settings import Settings
from core.urls import database_identity
from core.viewer import Viewer
from schema.caching.hints import NOT_CACHEABLE, Hints, Policy
from schema.caching.keys import entry_key, scope_of

__all__ = ["STALE_WITHIN", "ResponseCache", "namespace", "response_cache_for"]
# Operations whose policy is remembered (documents are cached by the parser too; this only saves
# the walk over the document).
POLICIES_KEPT = 2048


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
        return invalidated(tags)

    async def on_changes(self, changes: Changes) -> None:
        """The dispatcher's subscriber: a committed write drops every entry made of what it changed."""
        await self.store.invalidate(invalidated(changes.tags))


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
    store = ResponseStore(
        client,
        prefix=f"{settings.redis_key_prefix}rc:{namespace(schema, settings)}:",
        tags_prefix=tags_prefix(settings),
        tag_memory_s=tag_memory_s(settings),
    )
    return ResponseCache(
        schema,
        store,
        max_age_cap_s=settings.response_cache_max_age_s,
        max_entry_bytes=settings.response_cache_max_entry_bytes,
    )
