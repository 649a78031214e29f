"""The parse and validation cache of a worker, bounded by the bytes it holds, not only by entries.

Strawberry's ParserCache and ValidationCache keep 128 entries each whatever their size: 200
distinct 950 KB documents grew a worker to 246 MB. Here one LRU holds, per document text, the
parsed document and its validation results, and weighs each entry by what it keeps alive: the
text, and every token of the syntax tree (graphql-core links them all from the document's location;
a comment or string token holds a copy of its text): a document of 2,000 tokens weighs about a
megabyte. Entries are evicted, least recently used first, until the total is within the budget, and
a document whose text is longer than the per-document limit is parsed and validated every time
instead of being kept: real clients send a few kilobytes.

(cachetools' LRUCache with `getsizeof` would weigh entries the same way; the validation results
sharing their document's entry, and a dozen lines, did not justify a dependency.)
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, TokenKind

# What one token and its share of the syntax tree take in CPython (measured with tracemalloc:
# 390-540 bytes a token for documents of 50 to 1,800 tokens), rounded up.
TOKEN_BYTES = 600
# A validation result: its list and key; each error it holds (the nodes it points at are counted).
VALIDATION_BYTES = 256
ERROR_BYTES = 1024
# A plan of the planned executor (schema/execution/plans.py), per field node of its document: the field's
# plan, its shape and its list of nodes.
PLAN_FIELD_BYTES = 700

ParseKey = tuple[str, tuple[tuple[str, Any], ...]]


@dataclass(slots=True)
class _Entry:
    document: DocumentNode
    weight: int
    validations: dict[Hashable, list[GraphQLError]] = field(default_factory=dict)
    # Plans of the planned executor, by operation name and skip/include values (schema/execution/).
    plans: dict[Hashable, Any] = field(default_factory=dict)


def document_weight(text: str, document: DocumentNode) -> int:
    """The bytes a cached document keeps alive: its text and its tokens (with their values)."""
    weight = sys.getsizeof(text)
    token = document.loc.start_token if document.loc is not None else None
    while token is not None:
        weight += TOKEN_BYTES + (sys.getsizeof(token.value) if token.value else 0)
        token = token.next
    return weight


class DocumentCache:
    """Parsed documents and their validation results, at most `max_bytes` in all, of texts of at most
    `max_document_bytes` (UTF-8)."""

    def __init__(self, *, max_bytes: int, max_document_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.max_document_bytes = max_document_bytes
        self.held_bytes = 0
        self._entries: OrderedDict[ParseKey, _Entry] = OrderedDict()
        # The key of each cached document, by the document's identity: the executor is given the
        # document, not its text and parse options.
        self._keys: dict[int, ParseKey] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def parse(self, text: str, options: dict[str, Any], parse: Callable[..., DocumentNode]) -> DocumentNode:
        """The document `parse(text, **options)` gives, from the cache when it holds it."""
        key = _parse_key(text, options)
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            return entry.document
        document = parse(text, **options)
        if _text_bytes(text, self.max_document_bytes) <= self.max_document_bytes:
            weight = document_weight(text, document)
            self._entries[key] = _Entry(document, weight)
            self._keys[id(document)] = key
            self._grow(weight)
        return document

    def validate(
        self,
        text: str,
        options: dict[str, Any],
        schema: GraphQLSchema,
        document: DocumentNode,
        rules: Sequence[Any],
        validate: Callable[..., list[GraphQLError]],
    ) -> list[GraphQLError]:
        """`validate(schema, document, rules)`, kept with the document's entry when it has one."""
        entry = self._entries.get(_parse_key(text, options))
        if entry is None or entry.document is not document:
            return validate(schema, document, rules)
        # The rules' classes carry the limits (one class per limit value), so they are the key.
        key = (id(schema), tuple(rules))
        errors = entry.validations.get(key)
        if errors is None:
            errors = entry.validations[key] = validate(schema, document, rules)
            added = VALIDATION_BYTES + ERROR_BYTES * len(errors)
            entry.weight += added
            self._grow(added)
        return errors

    def plans_of(self, document: DocumentNode) -> dict[Hashable, Any] | None:
        """The plans kept with this very document (None when it is not in the cache)."""
        key = self._keys.get(id(document))
        entry = self._entries.get(key) if key is not None else None
        if entry is None or entry.document is not document:
            return None
        return entry.plans

    def keep_plan(self, document: DocumentNode, key: Hashable, plan: Any) -> None:
        """Keep a plan with its document, weighed by the document's field nodes."""
        plans = self.plans_of(document)
        if plans is None:
            return
        plans[key] = plan
        added = PLAN_FIELD_BYTES * _field_nodes(document)
        self._entries[self._keys[id(document)]].weight += added
        self._grow(added)

    def _grow(self, added: int) -> None:
        self.held_bytes += added
        while self.held_bytes > self.max_bytes and self._entries:
            _, evicted = self._entries.popitem(last=False)
            self._keys.pop(id(evicted.document), None)
            self.held_bytes -= evicted.weight


def _field_nodes(document: DocumentNode) -> int:
    # Every field is a name token; a name token not followed by ":" ... is close enough: names of
    # arguments, fragments and types count too, so the weight errs on the heavy side.
    count = 0
    token = document.loc.start_token if document.loc is not None else None
    while token is not None:
        count += token.kind is TokenKind.NAME
        token = token.next
    return count


def _text_bytes(text: str, limit: int) -> int:
    # A text of more characters than the limit has more bytes too: it is not encoded to find out.
    return len(text) if len(text) > limit else len(text.encode())


def _parse_key(text: str, options: dict[str, Any]) -> ParseKey:
    # The options carry the token limit: a document parsed under a higher one is not reused under a lower.
    return text, tuple(sorted(options.items()))


@cache
def document_cache(max_bytes: int, max_document_bytes: int) -> DocumentCache:
    """The worker's cache for these limits (one per distinct setting, like Strawberry's caches)."""
    return DocumentCache(max_bytes=max_bytes, max_document_bytes=max_document_bytes)
