"""Running a plan level by level: every field of a level is resolved for all objects of that level
together, so each loader sees the whole level's keys in one dispatch.

graphql-core completes depth first: one object's fields, then each child object's, with an awaitable
per field and a coroutine per completed object. Here a level is a list of objects per selection plan;
attribute fields are read and serialised in loops, resolvers are called for every object and all their
awaitables of the level are gathered at once; the objects they return form the next level.

Null propagation follows the spec (and graphql-core's bookkeeping): every value lives in a `Slot` (its
container, key, whether it may be null, and the slot around it). A field error in a nullable position
nulls that position; in a non-null one it nulls the nearest nullable slot above (or the whole `data`).
An error is recorded only if no slot above it was already nulled, and objects under a nulled slot are
not resolved further — as graphql-core cancels their siblings and drops their errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from graphql import GraphQLError, located_error
from graphql.pyutils import Path, is_iterable

from schema.execution.plans import FieldPlan, SelectionPlan, Shape, child_plan

ROOT = None


class Slot:
    """Where a value lives: `container[key]`, and the slot holding its container."""

    __slots__ = ("container", "dead", "key", "nullable", "parent")

    def __init__(self, container: Any, key: Any, nullable: bool, parent: Slot | None) -> None:
        self.container = container
        self.key = key
        self.nullable = nullable
        self.parent = parent
        self.dead = False


class Entry:
    """An object to complete: its source, its result dict, its path and its slot."""

    __slots__ = ("checked", "path", "result", "slot", "source")

    def __init__(self, source: Any, result: dict[str, Any], path: Path | None, slot: Slot | None) -> None:
        self.source = source
        self.result = result
        self.path = path
        self.slot = slot
        # The death count at which this entry was last seen alive (see BreadthFirst.alive).
        self.checked = -1


Level = dict[int, tuple[SelectionPlan, list[Entry]]]


class BreadthFirst:
    """One execution of a plan; `executor` is the graphql-core execution context it runs for."""

    def __init__(self, executor: Any) -> None:
        self.executor = executor
        self.errors: list[GraphQLError] = executor.collected_errors.errors
        self.deaths = 0
        self.data_nulled = False
        self.is_awaitable = executor.is_awaitable

    async def run(self, root: SelectionPlan, root_value: Any) -> dict[str, Any] | None:
        data: dict[str, Any] = {}
        level: Level = {id(root): (root, [Entry(root_value, data, None, ROOT)])}
        while level:
            level = await self.run_level(level)
            if self.data_nulled:
                return None
        return data

    # ------------------------------------------------------------------ liveness

    def alive_slot(self, slot: Slot | None) -> bool:
        if self.data_nulled:
            return False
        while slot is not None:
            if slot.dead:
                return False
            slot = slot.parent
        return True

    def alive(self, entry: Entry) -> bool:
        # Deaths are rare: an entry seen alive since the last one needs no walk up its slots.
        if entry.checked == self.deaths:
            return True
        if not self.alive_slot(entry.slot):
            return False
        entry.checked = self.deaths
        return True

    # ------------------------------------------------------------------ a level

    async def run_level(self, level: Level) -> Level:
        following: Level = {}
        pending: list[tuple[Awaitable[Any], Callable[[Any], None]]] = []
        for plan, entries in level.values():
            for fp in plan.fields:
                self.start_field(plan, fp, entries, following, pending)
        while pending:
            started, pending = pending, []
            results = await asyncio.gather(*(awaitable for awaitable, _ in started), return_exceptions=True)
            for (_, done), result in zip(started, results, strict=True):
                if isinstance(result, BaseException) and not isinstance(result, Exception):
                    raise result
                done(result)
        return following

    def start_field(
        self,
        plan: SelectionPlan,
        fp: FieldPlan,
        entries: list[Entry],
        following: Level,
        pending: list[tuple[Awaitable[Any], Callable[[Any], None]]],
    ) -> None:
        name = fp.response_name
        alive = self.alive
        if fp.typename is not None:
            for entry in entries:
                entry.result[name] = fp.typename
            return
        attribute = fp.attribute
        if attribute is not None:
            shape = fp.shape
            if shape.kind == "leaf" and fp.nullable:
                serialize = shape.serialize
                assert serialize is not None
                for entry in entries:
                    if not alive(entry):
                        continue
                    try:
                        value = attribute(entry.source)
                        entry.result[name] = None if value is None else serialize(value)
                    except Exception as exc:  # noqa: BLE001 - a field error, located like graphql-core's
                        self.field_error(exc, plan, fp, entry)
                return
            for entry in entries:
                if not alive(entry):
                    continue
                try:
                    value = attribute(entry.source)
                except Exception as exc:  # noqa: BLE001
                    self.field_error(exc, plan, fp, entry)
                    continue
                self.complete_field(plan, fp, entry, value, following)
            return
        executor = self.executor
        try:
            args = self.arguments(fp)
        except Exception as exc:  # noqa: BLE001 - every object of the level gets the coercion error
            for entry in entries:
                if alive(entry):
                    self.field_error(exc, plan, fp, entry)
            return
        resolve = fp.field_def.resolve or executor.field_resolver
        nodes = fp.nodes
        parent_type = plan.object_type
        type_name = parent_type.name
        is_awaitable = self.is_awaitable
        build_info = executor.build_resolve_info
        for entry in entries:
            if not alive(entry):
                continue
            path = Path(entry.path, name, type_name)
            try:
                info = build_info(fp.field_def, nodes, parent_type, path)
                result = resolve(entry.source, info, **args)
            except Exception as exc:  # noqa: BLE001
                self.field_error(exc, plan, fp, entry)
                continue
            if is_awaitable(result):
                entry.result[name] = None
                pending.append((result, self._on_result(plan, fp, entry, following)))
            else:
                self.complete_field(plan, fp, entry, result, following)

    def arguments(self, fp: FieldPlan) -> dict[str, Any]:
        if not fp.has_arguments:
            return {}
        from graphql.execution.values import get_argument_values

        executor = self.executor
        first = fp.details[0]
        return get_argument_values(
            fp.field_def,
            first.node,
            executor.variable_values,
            first.fragment_variable_values,
            executor.hide_suggestions,
        )

    def _on_result(
        self, plan: SelectionPlan, fp: FieldPlan, entry: Entry, following: Level
    ) -> Callable[[Any], None]:
        def done(result: Any) -> None:
            if not self.alive(entry):
                return
            if isinstance(result, Exception):
                self.field_error(result, plan, fp, entry)
            else:
                self.complete_field(plan, fp, entry, result, following)

        return done

    # ------------------------------------------------------------------ completion

    def complete_field(
        self, plan: SelectionPlan, fp: FieldPlan, entry: Entry, value: Any, following: Level
    ) -> None:
        name = fp.response_name
        try:
            if value is None or isinstance(value, Exception):
                entry.result[name] = self.null_or_raise(value, fp.nullable, plan, fp)
                return
            path = Path(entry.path, name, plan.object_type.name)
            slot_parent = entry.slot
            self.complete(fp, fp.shape, fp.nullable, value, entry.result, name, slot_parent, path, following)
        except Exception as exc:  # noqa: BLE001
            self.field_error(exc, plan, fp, entry)

    @staticmethod
    def null_or_raise(value: Any, nullable: bool, plan: SelectionPlan, fp: FieldPlan) -> None:
        if isinstance(value, Exception):
            raise value
        if not nullable:
            raise TypeError(_null_message(fp))
        return None

    def complete(
        self,
        fp: FieldPlan,
        shape: Shape,
        nullable: bool,
        value: Any,
        container: Any,
        key: Any,
        slot_parent: Slot | None,
        path: Path,
        following: Level,
    ) -> None:
        """Complete a non-null `value` into `container[key]`; raises on a field error at this position."""
        kind = shape.kind
        if kind == "leaf":
            assert shape.serialize is not None
            container[key] = shape.serialize(value)
        elif kind == "object":
            self.enqueue(
                fp, shape.graphql_type, value, container, key, nullable, slot_parent, path, following
            )
        elif kind == "abstract":
            self.complete_abstract(fp, shape, value, container, key, nullable, slot_parent, path, following)
        else:
            self.complete_list(fp, shape, value, container, key, nullable, slot_parent, path, following)

    def enqueue(
        self,
        fp: FieldPlan,
        object_type: Any,
        value: Any,
        container: Any,
        key: Any,
        nullable: bool,
        slot_parent: Slot | None,
        path: Path,
        following: Level,
    ) -> None:
        if object_type.is_type_of is not None:
            matches = object_type.is_type_of(value, None)
            if self.is_awaitable(matches):
                raise NotImplementedError("asynchronous is_type_of")  # no type of this schema has one
            if not matches:
                raise GraphQLError(
                    f"Expected value of type '{object_type}' but got: {_inspect(value)}.", fp.nodes
                )
        result: dict[str, Any] = {}
        container[key] = result
        plan = child_plan(self.executor, fp, object_type)
        bucket = following.get(id(plan))
        if bucket is None:
            bucket = following[id(plan)] = (plan, [])
        bucket[1].append(Entry(value, result, path, Slot(container, key, nullable, slot_parent)))

    def complete_abstract(
        self,
        fp: FieldPlan,
        shape: Shape,
        value: Any,
        container: Any,
        key: Any,
        nullable: bool,
        slot_parent: Slot | None,
        path: Path,
        following: Level,
    ) -> None:
        executor = self.executor
        abstract = shape.graphql_type
        resolve_type = abstract.resolve_type or executor.type_resolver  # type: ignore[attr-defined]
        info = executor.build_resolve_info(fp.field_def, fp.nodes, fp.parent_type, path)
        runtime = resolve_type(value, info, abstract)
        if self.is_awaitable(runtime):
            raise NotImplementedError("asynchronous resolve_type")  # no type of this schema has one
        object_type = executor.ensure_valid_runtime_type(runtime, abstract, fp.details, info, value)
        self.enqueue(fp, object_type, value, container, key, nullable, slot_parent, path, following)

    def complete_list(
        self,
        fp: FieldPlan,
        shape: Shape,
        value: Any,
        container: Any,
        key: Any,
        nullable: bool,
        slot_parent: Slot | None,
        path: Path,
        following: Level,
    ) -> None:
        if not is_iterable(value):
            raise GraphQLError(
                f"Expected Iterable, but did not find one for field '{fp.parent_type.name}.{fp.field_name}'."
            )
        items: list[Any] = []
        container[key] = items
        list_slot = Slot(container, key, nullable, slot_parent)
        item_shape = shape.item
        assert item_shape is not None
        item_nullable = shape.item_nullable
        complete = self.complete
        for index, item in enumerate(value):
            items.append(None)
            item_path = Path(path, index, None)
            try:
                if item is None or isinstance(item, Exception):
                    if isinstance(item, Exception):
                        raise item
                    if not item_nullable:
                        raise TypeError(_null_message(fp))
                    continue
                if self.is_awaitable(item):
                    raise NotImplementedError(
                        "awaitable list items"
                    )  # no resolver of this schema returns them
                complete(fp, item_shape, item_nullable, item, items, index, list_slot, item_path, following)
            except Exception as exc:  # noqa: BLE001
                error = located_error(exc, fp.nodes, item_path.as_list())
                if not item_nullable:
                    raise error from None
                if self.alive_slot(list_slot):
                    self.errors.append(error)

    # ------------------------------------------------------------------ errors

    def field_error(self, exc: Exception, plan: SelectionPlan, fp: FieldPlan, entry: Entry) -> None:
        path = Path(entry.path, fp.response_name, plan.object_type.name)
        error = located_error(exc, fp.nodes, path.as_list())
        if fp.nullable:
            if self.alive(entry):
                entry.result[fp.response_name] = None
                self.errors.append(error)
            return
        self.bubble(entry.slot, error)

    def bubble(self, start: Slot | None, error: GraphQLError) -> None:
        """A non-null position inside `start`'s value was nulled: null the nearest nullable slot."""
        handling = start
        while handling is not None and not handling.nullable:
            handling = handling.parent
        if not self.alive_slot(handling):
            return
        self.errors.append(error)
        self.deaths += 1
        slot = start
        while slot is not handling:
            assert slot is not None
            slot.dead = True
            slot = slot.parent
        if handling is None:
            self.data_nulled = True
            return
        handling.dead = True
        handling.container[handling.key] = None


def _inspect(value: Any) -> str:
    from graphql.pyutils import inspect

    return inspect(value)


def _null_message(fp: FieldPlan) -> str:
    return f"Cannot return null for non-nullable field {fp.parent_type.name}.{fp.field_name}."
