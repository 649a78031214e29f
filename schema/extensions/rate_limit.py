"""Before execution, a request's cost is checked against the limit and paid from the caller's token
bucket in Redis (shared by every worker); the response reports both in `extensions.cost`.

A document that fails parsing or validation never reaches the cost, yet made the worker parse and
validate it: it pays `rate_limit_failed_document_cost`, so invalid documents are not free to send.
Once the bucket cannot pay that either, the answer is RATE_LIMITED instead of the document's errors.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

from graphql import ExecutionResult
from strawberry.extensions import SchemaExtension

from core.errors import ApiError, ErrorCode
from core.ratelimit import Draw, TokenBucket, rate_limit_identity
from schema.extensions.cost import query_cost

RETRY_AFTER_HEADER = "retry-after"


class CostAndRateLimit(SchemaExtension):
    def __init__(self) -> None:
        super().__init__()
        self._cost: int | None = None
        self._draw: Draw | None = None
        self._failed_refusal: ApiError | None = None

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        result = self.execution_context.result
        if self._failed_refusal is not None and result is not None:
            # ErrorCoding has run by now (its exit comes first): the refusal carries the request id itself.
            request_id = self.execution_context.context.request_id
            if request_id:
                self._failed_refusal.extensions = {**self._failed_refusal.extensions, "requestId": request_id}
            result.data = None
            result.errors = [self._failed_refusal]

    async def on_parse(self) -> AsyncIterator[None]:
        yield
        if self.execution_context.pre_execution_errors:
            await self._charge_failed_document()

    async def on_validate(self) -> AsyncIterator[None]:
        yield
        if self.execution_context.pre_execution_errors:
            await self._charge_failed_document()

    async def on_execute(self) -> AsyncIterator[None]:
        # Listed before the idempotent replay: a refused request touches neither the database nor
        # the idempotency keys.
        refusal = await self._refusal(self.execution_context.context)
        if refusal is not None:
            self.execution_context.result = ExecutionResult(data=None, errors=[refusal])
        yield

    async def _refusal(self, context: Any) -> ApiError | None:
        """QUERY_TOO_COMPLEX over the cost limit, else RATE_LIMITED when the bucket cannot pay."""
        ec = self.execution_context
        settings = context.settings
        assert ec.graphql_document is not None
        cost = self._cost = query_cost(
            ec.schema._schema, ec.graphql_document, operation_name=ec.operation_name, variables=ec.variables
        )
        if cost > settings.graphql_max_cost:
            return ApiError(
                f"This query costs {cost}, more than the limit of {settings.graphql_max_cost}: "
                "ask for smaller pages or fewer nested lists.",
                code=ErrorCode.QUERY_TOO_COMPLEX,
                cost=cost,
                maxCost=settings.graphql_max_cost,
            )
        draw = self._draw = await self._bucket(context).draw(
            rate_limit_identity(context.viewer, context.client_ip), cost
        )
        if draw.allowed:
            return None
        return self._rate_limited(context, draw, cost)

    async def _charge_failed_document(self) -> None:
        context = self.execution_context.context
        cost = self._cost = context.settings.rate_limit_failed_document_cost
        identity = rate_limit_identity(context.viewer, context.client_ip)
        draw = self._draw = await self._bucket(context).draw(identity, cost)
        if not draw.allowed:
            self._failed_refusal = self._rate_limited(context, draw, cost)

    @staticmethod
    def _bucket(context: Any) -> TokenBucket:
        settings = context.settings
        return TokenBucket(
            context.redis,
            prefix=settings.redis_key_prefix,
            capacity=settings.rate_limit_bucket,
            refill_per_second=settings.rate_limit_refill_per_second,
        )

    @staticmethod
    def _rate_limited(context: Any, draw: Draw, cost: int) -> ApiError:
        retry_after = draw.retry_after_header
        if context.response is not None:
            context.response.headers[RETRY_AFTER_HEADER] = str(retry_after)
        return ApiError(
            f"Rate limit exceeded: this query costs {cost} and your budget has "
            f"{max(0, math.floor(draw.available or 0))}; retry in {retry_after} s.",
            code=ErrorCode.RATE_LIMITED,
            retryAfter=retry_after,
            cost=cost,
        )

    def get_results(self) -> dict[str, Any]:
        """Shopify's shape; unknown parts are null (not computed, or Redis not reachable)."""
        settings = self.execution_context.context.settings
        available = self._draw.available if self._draw is not None else None
        return {
            "cost": {
                "requestedQueryCost": self._cost,
                "maxCost": settings.graphql_max_cost,
                "throttleStatus": {
                    "maximumAvailable": settings.rate_limit_bucket,
                    "currentlyAvailable": None if available is None else math.floor(available),
                    "restoreRate": settings.rate_limit_refill_per_second,
                },
            }
        }
