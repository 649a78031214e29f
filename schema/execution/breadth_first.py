"""Running a plan level by level: every field of a level is resolved for all objects of that level
together, so each loader sees the whole level's keys in one dispatch.

graphql-core completes depth first: one object's fields, then each child object's, with an awaitable
per field and a coroutine per completed object. Here a level is a list of objects per selection plan;
attribute fields are read and serialised in loops, resolvers are called for every object and all their
awaitables of the level are gathered at once; the objects they return form the next level. An object
whose fields are all attributes read into leaves is completed where it is met, in one loop.

Completion is in completion.py, null propagation in positions.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from graphql.execution.values import get_argument_values
from graphql.pyutils import Path

from schema.execution.completion import Completion
from schema.execution.plans import FieldPlan, SelectionPlan
from schema.execution.positions import Entry, Level

Pending = list[tuple[Awaitable[Any], Callable[[Any], None]]]


class BreadthFirst(Completion):
    """One execution of a plan; `executor` is the graphql-core execution context it runs for."""

    async def run(self, root: SelectionPlan, root_value: Any) -> dict[str, Any] | None:
        data: dict[str, Any] = {}
        level: Level = {id(root): [Entry(root_value, data, root, None, None, False, None, None)]}
        while level:
            level = await self.run_level(level)
            if self.data_nulled:
                return None
        return data

    async def run_level(self, level: Level) -> Level:
        following: Level = {}
        pending: Pending = []
        for entries in level.values():
            for fp in entries[0].plan.fields:
                self.start_field(fp, entries, following, pending)
        if pending:
            results = await asyncio.gather(*(awaitable for awaitable, _ in pending), return_exceptions=True)
            for (_, done), result in zip(pending, results, strict=True):
                if isinstance(result, BaseException) and not isinstance(result, Exception):
                    raise result
                done(result)
        return following

    def start_field(self, fp: FieldPlan, entries: list[Entry], following: Level, pending: Pending) -> None:
        name = fp.response_name
        alive = self.alive
        if fp.typename is not None:
            for entry in entries:
                entry.result[name] = fp.typename
            return
        attribute = fp.attribute
        if attribute is not None:
            if fp.shape.kind == "leaf" and fp.nullable:
                serialize = fp.shape.serialize
                assert serialize is not None
                for entry in entries:
                    if alive(entry):
                        try:
                            value = attribute(entry.source)
                            entry.result[name] = None if value is None else serialize(value)
                        except Exception as exc:  # noqa: BLE001 - a field error, located like graphql-core's
                            self.field_error(exc, fp, entry)
                return
            for entry in entries:
                if alive(entry):
                    try:
                        value = attribute(entry.source)
                    except Exception as exc:  # noqa: BLE001
                        self.field_error(exc, fp, entry)
                        continue
                    self.complete_field(fp, entry, value, following)
            return
        executor = self.executor
        try:
            args = self.arguments(fp)
        except Exception as exc:  # noqa: BLE001 - every object of the level gets the coercion error
            for entry in entries:
                if alive(entry):
                    self.field_error(exc, fp, entry)
            return
        resolve = fp.field_def.resolve or executor.field_resolver
        field_def, nodes, parent_type = fp.field_def, fp.nodes, fp.parent_type
        type_name = parent_type.name
        is_awaitable = self.is_awaitable
        build_info = executor.build_resolve_info
        for entry in entries:
            if not alive(entry):
                continue
            try:
                info = build_info(field_def, nodes, parent_type, Path(entry.path, name, type_name))
                result = resolve(entry.source, info, **args)
            except Exception as exc:  # noqa: BLE001
                self.field_error(exc, fp, entry)
                continue
            if is_awaitable(result):
                entry.result[name] = None
                pending.append((result, self._on_result(fp, entry, following)))
            else:
                self.complete_field(fp, entry, result, following)

    def arguments(self, fp: FieldPlan) -> dict[str, Any]:
        if not fp.has_arguments:
            return {}
        executor = self.executor
        first = fp.details[0]
        return get_argument_values(
            fp.field_def,
            first.node,
            executor.variable_values,
            first.fragment_variable_values,
            executor.hide_suggestions,
        )

    def _on_result(self, fp: FieldPlan, entry: Entry, following: Level) -> Callable[[Any], None]:
        def done(result: Any) -> None:
            if not self.alive(entry):
                return
            if isinstance(result, Exception):
                self.field_error(result, fp, entry)
            else:
                self.complete_field(fp, entry, result, following)

        return done
