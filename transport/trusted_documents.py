"""The trusted documents of an allow-list deployment (TRUSTED_DOCUMENTS): read once at start from a
manifest, either Apollo's persisted-query manifest

    {"format": "apollo-persisted-query-manifest", "version": 1,
     "operations": [{"id": "<hash>", "name": "Home", "type": "query", "body": "query Home { … }"}]}

or the plain JSON object of id -> document that client build tools emit (GraphQL Code Generator's
`persisted-documents.json`, Relay's `persisted_queries.json`). A file that is not one of these, or
lists a document that is not GraphQL, stops the server from starting: a half-read allow-list would
refuse the very clients it is meant to serve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from graphql import GraphQLError, parse

from transport.apq_store import digest

APOLLO_FORMAT = "apollo-persisted-query-manifest"
APOLLO_VERSION = 1


class ManifestError(RuntimeError):
    """The trusted documents manifest cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class TrustedDocuments:
    """The listed documents by the id clients send, and the digests of their texts (a document sent
    whole is trusted when its text is listed, whatever id the manifest gave it)."""

    by_id: dict[str, str]
    digests: frozenset[str]

    def document(self, document_id: str) -> str | None:
        return self.by_id.get(document_id)

    def allows(self, document: str) -> bool:
        return digest(document) in self.digests


def load_trusted_documents(path: Path) -> TrustedDocuments:
    """Read and check the manifest at `path`."""

    def refuse(problem: str) -> ManifestError:
        return ManifestError(f"TRUSTED_DOCUMENTS={path}: {problem}")

    try:
        raw = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise refuse(f"cannot be read ({exc.strerror or exc})") from exc
    except orjson.JSONDecodeError as exc:
        raise refuse(f"is not valid JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise refuse("must be a JSON object (Apollo's manifest, or an object of id -> document)")
    entries = _apollo_entries(raw, refuse) if "format" in raw else _plain_entries(raw, refuse)
    if not entries:
        raise refuse("lists no document")
    by_id: dict[str, str] = {}
    for document_id, body in entries:
        if by_id.get(document_id, body) != body:
            raise refuse(f"id {document_id!r} is given to two different documents")
        try:
            parse(body, no_location=True)
        except GraphQLError as exc:
            raise refuse(f"the document of id {document_id!r} is not valid GraphQL ({exc.message})") from exc
        by_id[document_id] = body
    return TrustedDocuments(by_id=by_id, digests=frozenset(digest(body) for body in by_id.values()))


def _apollo_entries(raw: dict[str, Any], refuse: Callable[[str], ManifestError]) -> list[tuple[str, str]]:
    if raw.get("format") != APOLLO_FORMAT or raw.get("version") != APOLLO_VERSION:
        expected = f'"format": "{APOLLO_FORMAT}", "version": {APOLLO_VERSION}'
        raise refuse(f"has an unknown format: expected {expected}")
    operations = raw.get("operations")
    if not isinstance(operations, list):
        raise refuse('"operations" must be a list')
    entries = []
    for index, operation in enumerate(operations):
        document_id = operation.get("id") if isinstance(operation, dict) else None
        body = operation.get("body") if isinstance(operation, dict) else None
        if not _text(document_id) or not _text(body):
            raise refuse(f'operations[{index}] must have a string "id" and "body"')
        entries.append((document_id, body))
    return entries


def _plain_entries(raw: dict[str, Any], refuse: Callable[[str], ManifestError]) -> list[tuple[str, str]]:
    entries = []
    for document_id, body in raw.items():
        if not _text(document_id) or not _text(body):
            raise refuse(f"the value of {document_id!r} must be a document (a non-empty string)")
        entries.append((document_id, body))
    return entries


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())
