"""`PlannedExecution`: the execution context class of the schema.

For a query operation it can plan, it looks up (or builds, with graphql-core's field collection) the
plan of the operation — one per document, operation name and values of the variables `@skip` and
`@include` read, kept with the document in the worker's document cache — and runs it breadth first
(breadth_first.py). Everything else runs unchanged on graphql-core: mutations (serial, and their
payloads read through the mutation's own transaction), subscriptions, introspection (`__schema`,
`__type`), federation's `_service` and `_entities`, and documents using graphql-core features the
planner does not implement (fragment arguments, middleware, an abort signal). In development the
response's `extensions.executor` says which one answered.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from graphql import GraphQLError, OperationType
from graphql.execution.collect_fields import collect_fields

from schema.execution.breadth_first import BreadthFirst
from schema.execution.plans import SelectionPlan, selection_plan, skip_include_variables
from schema.extensions.caches import DocumentCache, document_cache
from schema.scalars import InputBoundary

# Which executor answered the current operation ("planned" or "graphql-core"), for `extensions`.
ANSWERED_BY: ContextVar[str | None] = ContextVar("answered_by", default=None)

# Off: every operation runs on graphql-core (the reference the differential tests compare against; one
# process can build the schema only once, so the switch is per execution, not per schema).
PLANNING: ContextVar[bool] = ContextVar("planning", default=True)


@contextmanager
def graphql_core_only() -> Iterator[None]:
    """Operations executed inside the block run on graphql-core's executor, not the planned one."""
    token = PLANNING.set(False)
    try:
        yield
    finally:
        PLANNING.reset(token)


# Root fields graphql-core answers: introspection and federation's entry points.
UNPLANNED_ROOT_FIELDS = frozenset({"__schema", "__type", "_service", "_entities"})
SKIP_INCLUDE_KEY = "skip/include variables"


class PlannedExecution(InputBoundary):
    document: Any = None

    @classmethod
    def build(cls, schema: Any, document: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        built = super().build(schema, document, *args, **kwargs)
        if isinstance(built, PlannedExecution):
            built.document = document
        return built

    def execute_operation(self, serially: bool | None = None) -> Any:
        plan = self.plan() if not serially else None
        if plan is None:
            ANSWERED_BY.set("graphql-core")
            return super().execute_operation(serially)
        ANSWERED_BY.set("planned")
        return self.run_plan(plan)

    async def run_plan(self, plan: SelectionPlan) -> Any:
        try:
            data = await BreadthFirst(self).run(plan, self.root_value)
        except GraphQLError as error:
            self.collected_errors.errors.append(error)
            return self.build_response(None)
        return self.build_response(data)

    def plannable(self) -> bool:
        manager = self.middleware_manager
        return (
            PLANNING.get()
            and self.operation.operation is OperationType.QUERY
            and self.abort_signal is None
            and not self.enable_early_execution
            and (manager is None or not manager.middlewares)
            and all(details.variable_signatures is None for details in self.fragments.values())
        )

    def plan(self) -> SelectionPlan | None:
        """The operation's root plan, or None when graphql-core runs it."""
        if not self.plannable():
            return None
        document = self.document
        cache = self._cache()
        plans = cache.plans_of(document) if cache is not None and document is not None else None
        if plans is None:
            return self.build_plan()
        names = plans.get(SKIP_INCLUDE_KEY)
        if names is None:
            names = plans[SKIP_INCLUDE_KEY] = skip_include_variables(document)
        coerced = self.variable_values.coerced
        key: Hashable = (
            self.operation.name.value if self.operation.name else None,
            tuple(_hashable(coerced.get(name)) for name in names),
        )
        if key in plans:
            return plans[key]
        plan = self.build_plan()
        assert cache is not None and document is not None
        cache.keep_plan(document, key, plan)
        return plan

    def build_plan(self) -> SelectionPlan | None:
        root_type = self.schema.get_root_type(self.operation.operation)
        if root_type is None:
            return None
        try:
            grouped, _defers, _forbidden = collect_fields(
                self.schema,
                self.fragments,
                self.variable_values,
                root_type,
                self.operation,
                self.hide_suggestions,
            )
        except RecursionError:
            return None  # graphql-core reports "nested too deeply"
        if any(details[0].node.name.value in UNPLANNED_ROOT_FIELDS for details in grouped.values()):
            return None
        return selection_plan(self.schema, root_type, grouped)

    def _cache(self) -> DocumentCache | None:
        settings = getattr(self.context_value, "settings", None)
        if settings is None:
            return None
        return document_cache(
            settings.graphql_document_cache_bytes, settings.graphql_document_cache_max_document_bytes
        )


def _hashable(value: Any) -> Hashable:
    return value if isinstance(value, Hashable) else repr(value)
