"""The fixed set of error codes every GraphQL error carries in `extensions.code`."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from graphql import GraphQLError


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    CONFLICT = "CONFLICT"
    INTERNAL = "INTERNAL"


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
