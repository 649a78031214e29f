"""Persisted queries, the transport step between reading a request's operations and running them:
Apollo's automatic persisted queries (APQ) and, when TRUSTED_DOCUMENTS is set, an allow-list.

APQ as Apollo Server and Apollo Client speak it: an operation whose `extensions.persistedQuery` is
`{"version": 1, "sha256Hash": …}` may leave out its document; the server runs the document stored
under that hash, or answers `PersistedQueryNotFound` and the client sends the document with the
hash, which the server checks, answers and stores (in Redis, for every worker). In trusted mode the
manifest's documents are the only ones that run, by id or by text, and nothing is stored.

Statuses: under application/json the two answers the client falls back on (not found, not
supported) are 200, as Apollo Server answers them and as clients that read only 2xx bodies need;
under application/graphql-response+json they are 404 and 400, since that media type's responses
without data are 4xx (Apollo Client 4 reads the body of both). A miss is never kept by a cache
(`Cache-Control: private, no-cache, must-revalidate`): the next identical GET is meant to hit.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any

import redis.asyncio as aioredis
from graphql import ExecutionResult
from starlette.responses import Response

from core.errors import ApiError, ErrorCode
from core.metrics import APQ_REGISTRATIONS
from core.metrics_hooks import cache_lookup
from core.metrics_labels import allow_operation_names, operation_names_of
from core.settings import Settings
from schema.extensions.errors import coded
from transport.apq_store import DocumentStore, Registration, digest
from transport.media import GRAPHQL_RESPONSE_JSON, HttpProblem, error_codes, problem_response
from transport.requests import Operation
from transport.trusted_documents import TrustedDocuments, load_trusted_documents

log = logging.getLogger("swipesavvy.persisted")

VERSION = 1
NO_CACHE = "private, no-cache, must-revalidate"
# Apollo's messages: Apollo Kotlin and Apollo iOS recognise the first two by message, not code.
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"
NOT_SUPPORTED_MESSAGE = "PersistedQueryNotSupported"
MISMATCH_MESSAGE = "provided sha does not match query"
VERSION_MESSAGE = f"Unsupported persisted query version: this server speaks version {VERSION}."
SHAPE_MESSAGE = "extensions.persistedQuery must be an object with a version and a sha256Hash string."
HASH_MESSAGE = "extensions.persistedQuery.sha256Hash must be a SHA-256 digest: 64 lowercase hex digits."
NOT_LISTED_MESSAGE = "The document is not in the trusted documents list."
UNKNOWN_ID_MESSAGE = "No trusted document has this id."
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# A document that failed these is never stored: the same text would fail again.
UNSTORED_CODES = frozenset(
    code.value
    for code in (
        ErrorCode.GRAPHQL_PARSE_FAILED,
        ErrorCode.GRAPHQL_VALIDATION_FAILED,
        ErrorCode.QUERY_TOO_COMPLEX,
    )
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """An operation the persisted-query step answers itself, before any parsing."""

    code: ErrorCode
    message: str
    status: int  # under application/graphql-response+json
    legacy_status: int  # under application/json
    no_cache: bool = False

    def result(self, request_id: str) -> ExecutionResult:
        """The refusal as one operation's result (a member of a batch)."""
        return ExecutionResult(data=None, errors=[coded(ApiError(self.message, code=self.code), request_id)])

    def response(self, media: str, request_id: str) -> Response:
        """The refusal as the whole request's answer."""
        log.info("%s: %s", self.code.value, self.message)
        status = self.status if media == GRAPHQL_RESPONSE_JSON else self.legacy_status
        response = problem_response(HttpProblem(status, self.message), media, request_id, code=self.code)
        if self.no_cache:
            response.headers["cache-control"] = NO_CACHE
        return response


NOT_FOUND = Refusal(ErrorCode.PERSISTED_QUERY_NOT_FOUND, NOT_FOUND_MESSAGE, 404, 200, True)
NOT_SUPPORTED = Refusal(ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED, NOT_SUPPORTED_MESSAGE, 400, 200, True)
NOT_LISTED = Refusal(ErrorCode.PERSISTED_QUERY_NOT_IN_LIST, NOT_LISTED_MESSAGE, 403, 403)
UNKNOWN_ID = Refusal(ErrorCode.PERSISTED_QUERY_NOT_IN_LIST, UNKNOWN_ID_MESSAGE, 403, 403)


def _bad_input(message: str) -> Refusal:
    return Refusal(ErrorCode.BAD_USER_INPUT, message, 400, 400)


@dataclass(frozen=True, slots=True)
class Resolved:
    """An operation with its document; `registers` is the verified hash to store it under once it
    has run (None: nothing to store)."""

    operation: Operation
    registers: str | None = None


class PersistedQueries:
    """The step, built once per worker from the settings (the manifest is read here, at start)."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.apq_enabled
        self.max_document_bytes = settings.apq_max_document_bytes
        self.trusted: TrustedDocuments | None = (
            load_trusted_documents(settings.trusted_documents) if settings.trusted_documents else None
        )
        # The trusted documents' operation names are metric labels; no other client-sent name is.
        allow_operation_names(settings.metrics_operation_name_list)
        if self.trusted is not None:
            allow_operation_names(operation_names_of(self.trusted.by_id.values()))
        self.store = DocumentStore(
            prefix=settings.redis_key_prefix,
            ttl_s=settings.apq_ttl_s,
            cap=settings.apq_registrations_per_window,
            window_s=settings.apq_registration_window_s,
        )

    async def resolve(self, operation: Operation, redis: aioredis.Redis | None) -> Resolved | Refusal:
        """The operation with the document it names, or what to answer instead."""
        extension = (operation.extensions or {}).get("persistedQuery")
        if self.trusted is not None:
            return self._trusted(operation, extension, self.trusted)
        if extension is None:
            return Resolved(operation)
        if not self.enabled:
            return NOT_SUPPORTED
        sha256_hash = _hash_of(extension)
        if isinstance(sha256_hash, Refusal):
            return sha256_hash
        if operation.query is None:
            if not SHA256_HEX.fullmatch(sha256_hash):
                return _bad_input(HASH_MESSAGE)
            document = await self.store.find(redis, sha256_hash)
            cache_lookup("apq", hit=document is not None)
            return NOT_FOUND if document is None else Resolved(replace(operation, query=document))
        if digest(operation.query) != sha256_hash:
            return _bad_input(MISMATCH_MESSAGE)
        return Resolved(operation, registers=sha256_hash)

    async def register(
        self, resolved: Resolved, result: ExecutionResult, *, redis: aioredis.Redis | None, identity: str
    ) -> None:
        """Store a document sent with its hash once it has run; failures are logged, never answered."""
        document = resolved.operation.query
        if resolved.registers is None or document is None or error_codes(result) & UNSTORED_CODES:
            return
        size = len(document.encode("utf-8"))
        if size > self.max_document_bytes:
            APQ_REGISTRATIONS.labels("too_large").inc()
            log.info(
                "persisted query %s not stored: %d bytes, over APQ_MAX_DOCUMENT_BYTES (%d)",
                resolved.registers[:12],
                size,
                self.max_document_bytes,
            )
            return
        outcome = await self.store.register(redis, resolved.registers, document, identity=identity)
        APQ_REGISTRATIONS.labels(outcome.name.lower()).inc()
        if outcome is Registration.OVER_CAP:
            log.info(
                "persisted query %s not stored: %s has stored %d new documents in the last %ds",
                resolved.registers[:12],
                identity,
                self.store.cap,
                self.store.window_s,
            )

    def _trusted(self, operation: Operation, extension: Any, trusted: TrustedDocuments) -> Resolved | Refusal:
        """Only listed documents run: by id, or sent whole (and then refused before parsing)."""
        document_id = None if extension is None else _hash_of(extension)
        if isinstance(document_id, Refusal):
            return document_id
        if operation.query is None:
            listed = trusted.document(document_id or "")
            return UNKNOWN_ID if listed is None else Resolved(replace(operation, query=listed))
        sent_with_its_id = document_id is None or trusted.document(document_id) == operation.query
        if not sent_with_its_id and digest(operation.query) != document_id:
            return _bad_input(MISMATCH_MESSAGE)
        return Resolved(operation) if trusted.allows(operation.query) else NOT_LISTED


def _hash_of(extension: Any) -> str | Refusal:
    """The hash an `extensions.persistedQuery` names, once its shape and version are checked."""
    if not isinstance(extension, dict) or not isinstance(extension.get("sha256Hash"), str):
        return _bad_input(SHAPE_MESSAGE)
    version = extension.get("version")
    if isinstance(version, bool) or version != VERSION:
        return _bad_input(VERSION_MESSAGE)
    return str(extension["sha256Hash"])
