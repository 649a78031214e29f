"""The fixed set of error codes every GraphQL error carries in `extensions.code`.

The names of documents refused before execution are Apollo Server's (GRAPHQL_PARSE_FAILED,
GRAPHQL_VALIDATION_FAILED, OPERATION_RESOLUTION_FAILURE), and so are the persisted-query codes
(PERSISTED_QUERY_NOT_FOUND, PERSISTED_QUERY_NOT_SUPPORTED; PERSISTED_QUERY_NOT_IN_LIST is Apollo
Router's), so Apollo tooling and clients recognise them; the README's table gives each code's HTTP
status and whether a retry can help.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from graphql import GraphQLError


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    CONFLICT = "CONFLICT"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    TIMEOUT = "TIMEOUT"
    INTERNAL = "INTERNAL"
    # Apollo's persisted-query protocol: clients fall back to sending the document on the first two.
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
    PERSISTED_QUERY_NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"


# What the server itself could not do (the database away, a time limit): logged as warnings.
SERVER_CONDITIONS = frozenset({ErrorCode.SERVICE_UNAVAILABLE, ErrorCode.TIMEOUT})

SERVICE_UNAVAILABLE_MESSAGE = "The service is temporarily unavailable: retry shortly."


class ApiError(GraphQLError):
    """An error whose message is safe to show the client, with its code."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, *, code: ErrorCode | None = None, **extensions: Any) -> None:
        self.code = code or self.code
        super().__init__(message, extensions={"code": self.code.value, **extensions})


class Unauthenticated(ApiError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(ApiError):
    code = ErrorCode.FORBIDDEN


class NotFound(ApiError):
    code = ErrorCode.NOT_FOUND


class BadUserInput(ApiError):
    code = ErrorCode.BAD_USER_INPUT


class ServiceUnavailable(ApiError):
    """PostgreSQL is unreachable, restarting or out of connections (`cause` says how, for the log)."""

    code = ErrorCode.SERVICE_UNAVAILABLE

    def __init__(self, *, retry_after: int, cause: BaseException | None = None) -> None:
        super().__init__(SERVICE_UNAVAILABLE_MESSAGE, retryAfter=retry_after)
        self.original_error = cause
