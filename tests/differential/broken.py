"""Executors that are wrong on purpose, each in one way the comparison must catch: a list in reverse
order, an object's keys in reverse order, an error left out. The differential tests run them as the
candidate to show that a disagreement fails (and how it reads); `DIFF_CANDIDATE` accepts them too:

    DIFF_CANDIDATE=tests.differential.broken:ReversedLists .venv/bin/python -m bench.differential
"""

from __future__ import annotations

from typing import Any

from graphql import ExecutionResult

from schema.scalars import InputBoundary


class ReversedLists(InputBoundary):
    def complete_list_value(
        self, return_type: Any, field_details_list: Any, info: Any, path: Any, result: Any, *rest: Any
    ) -> Any:  # type: ignore[override]
        if isinstance(result, list | tuple):
            result = list(reversed(result))
        return super().complete_list_value(return_type, field_details_list, info, path, result, *rest)


class ReversedKeys(InputBoundary):
    def execute_fields(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        results = super().execute_fields(*args, **kwargs)
        if isinstance(results, dict):
            return dict(reversed(results.items()))

        async def reordered() -> dict[str, Any]:
            return dict(reversed((await results).items()))

        return reordered()


class DroppedError(InputBoundary):
    def build_response(self, data: Any) -> Any:  # type: ignore[override]
        result = super().build_response(data)
        if isinstance(result, ExecutionResult) and result.errors:
            return ExecutionResult(result.data, result.errors[:-1] or None, result.extensions)
        return result


BROKEN = (ReversedLists, ReversedKeys, DroppedError)
