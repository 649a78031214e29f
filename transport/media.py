"""What a GraphQL-over-HTTP answer looks like on the wire: the media type chosen from Accept, the
response body of each result, and the status code the spec gives it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from graphql import ExecutionResult
from starlette.responses import Response

from core.errors import ApiError, ErrorCode
from core.tracing import current_trace_id

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
_JSON_ALIASES = {JSON, "application/*", "*/*"}
RETRY_AFTER_HEADER = "retry-after"


class HttpProblem(Exception):
    """A request GraphQL cannot even start on: the status and the client-safe message."""

    def __init__(self, status: int, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extensions = status, message, extensions


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header (the spec's default is application/json);
    None when the client accepts neither JSON type."""
    if not accept or not accept.strip():
        return JSON
    best, best_q = None, 0.0
    for item in accept.split(","):
        media, *params = (part.strip().lower() for part in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media == GRAPHQL_RESPONSE_JSON:
            candidate = GRAPHQL_RESPONSE_JSON
        elif media in _JSON_ALIASES:
            candidate = JSON
        else:
            continue
        # On equal preference the spec's own media type wins: it carries the clearer status codes.
        if q > best_q or (q == best_q and q > 0 and candidate == GRAPHQL_RESPONSE_JSON):
            best, best_q = candidate, q
    return best


def error_body(message: str, code: ErrorCode, request_id: str, **extensions: Any) -> bytes:
    """A GraphQL-shaped error document, for failures before or around GraphQL execution."""
    error = {"message": message, "extensions": {"code": code.value, "requestId": request_id, **extensions}}
    trace_id = current_trace_id()
    if trace_id:
        error["extensions"]["traceId"] = trace_id
    return orjson.dumps({"errors": [error]})


def problem_response(
    problem: HttpProblem, media: str, request_id: str, *, code: ErrorCode = ErrorCode.BAD_USER_INPUT
) -> Response:
    """The answer to a request refused before execution, in the negotiated media type."""
    body = error_body(problem.message, code, request_id, **problem.extensions)
    headers = {"Allow": "GET, POST"} if problem.status == 405 else None
    return Response(body, problem.status, headers, media_type=media)


def unavailable_response(error: ApiError, media: str, *, retry_after: int) -> Response:
    """503 (200 under application/json) with Retry-After, for a request the database's absence
    stopped before execution (an API key lookup)."""
    result = ExecutionResult(data=None, errors=[error])
    return results_response([result], batched=False, media=media, headers={}, retry_after=retry_after)


def unauthenticated_response(error: ApiError, media: str, request_id: str) -> Response:
    """401 with the error's code and the request id, for credentials that name no viewer."""
    body = {
        "errors": [
            {"message": error.message, "extensions": {**(error.extensions or {}), "requestId": request_id}}
        ]
    }
    return Response(orjson.dumps(body), 401, {"WWW-Authenticate": "Bearer"}, media_type=media)


def results_response(
    results: list[ExecutionResult],
    *,
    batched: bool,
    media: str,
    headers: Mapping[str, str],
    retry_after: int | None = None,
) -> Response:
    """The executed operations' answer: a JSON array for a batch (always 200), else one document."""
    if batched:
        content: Any = [_result_body(result) for result in results]
        status = 200
    else:
        content = _result_body(results[0])
        # application/json: always 200 with the errors (the spec says so for that media type).
        status = _request_error_status(content) if media == GRAPHQL_RESPONSE_JSON else 200
    response = Response(orjson.dumps(content), status, headers, media_type=media)
    if retry_after is not None and any(is_unavailable(result) for result in results):
        response.headers[RETRY_AFTER_HEADER] = str(retry_after)
    return response


def error_codes(result: ExecutionResult) -> set[str]:
    """The codes of the result's errors."""
    return {str((error.extensions or {}).get("code")) for error in result.errors or []}


def is_unavailable(result: ExecutionResult) -> bool:
    """The database's absence stopped every field: no data to show, and a retry later may succeed."""
    if ErrorCode.SERVICE_UNAVAILABLE.value not in error_codes(result):
        return False
    return result.data is None or all(value is None for value in result.data.values())


def _is_request_error(result: ExecutionResult) -> bool:
    """No execution happened (parse, validation, variables, a refusal): the spec's "no data entry"."""
    return result.data is None and bool(result.errors) and all(e.path is None for e in result.errors or [])


def _result_body(result: ExecutionResult) -> dict[str, Any]:
    # A response whose fields all met an unavailable database has nothing to show: no data entry,
    # like a request error, so clients and proxies see a failure to retry rather than nulls.
    dataless = _is_request_error(result) or is_unavailable(result)
    body: dict[str, Any] = {} if dataless else {"data": result.data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        body["extensions"] = result.extensions
    return body


def _request_error_status(content: dict[str, Any]) -> int:
    """With the spec's media type: 200 with a data entry; else 4xx or 5xx by the errors' codes (429
    for a rate limit and 503 for an unavailable database, both with Retry-After, so clients and
    proxies back off by status; 400 for everything else refused before execution)."""
    if "data" in content:
        return 200
    codes = {(error.get("extensions") or {}).get("code") for error in content.get("errors", [])}
    if ErrorCode.SERVICE_UNAVAILABLE.value in codes:
        return 503
    return 429 if codes == {ErrorCode.RATE_LIMITED.value} else 400
