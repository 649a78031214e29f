"""Completing resolved values: leaves serialised, lists walked, objects queued for the next level.

An object whose fields all read attributes into leaves is completed where it is met, by its plan's
compiled `fill` (leaves.py), instead of waiting for the next level (a day of metrics, a variant).
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from graphql.pyutils import Path, inspect, is_iterable

from schema.execution.plans import FieldPlan, SelectionPlan, Shape, child_plan
from schema.execution.positions import Entry, Level, Position, Propagation, null_message


class Completion(Propagation):
    def __init__(self, executor: Any) -> None:
        super().__init__(executor)
        self.is_awaitable = executor.is_awaitable

    def complete_field(self, fp: FieldPlan, entry: Entry, value: Any, following: Level) -> None:
        try:
            if isinstance(value, Exception):
                raise value
            if value is None:
                if not fp.nullable:
                    raise TypeError(null_message(fp))
                entry.result[fp.response_name] = None
                return
            self.complete(
                fp,
                fp.shape,
                value,
                entry.result,
                fp.response_name,
                fp.nullable,
                entry,
                fp.parent_type.name,
                following,
            )
        except Exception as exc:  # noqa: BLE001
            self.field_error(exc, fp, entry)

    def complete(
        self,
        fp: FieldPlan,
        shape: Shape,
        value: Any,
        container: Any,
        key: Any,
        nullable: bool,
        parent: Position,
        typename: str | None,
        following: Level,
    ) -> None:
        """Complete a non-null `value` into `container[key]`; raises on a field error at this position."""
        kind = shape.kind
        if kind == "leaf":
            assert shape.serialize is not None
            container[key] = shape.serialize(value)
            return
        if kind == "list":
            self.complete_list(fp, shape, value, container, key, nullable, parent, typename, following)
            return
        object_type = (
            shape.graphql_type
            if kind == "object"
            else self.runtime_type(fp, shape, value, parent, key, typename)
        )
        self.complete_object(
            fp,
            object_type,
            child_plan(self.executor, fp, object_type),
            value,
            container,
            key,
            nullable,
            parent,
            typename,
            following,
        )

    def runtime_type(
        self, fp: FieldPlan, shape: Shape, value: Any, parent: Position, key: Any, typename: str | None
    ) -> Any:
        executor = self.executor
        abstract = shape.graphql_type
        resolve_type = abstract.resolve_type or executor.type_resolver  # type: ignore[attr-defined]
        info = executor.build_resolve_info(
            fp.field_def, fp.nodes, fp.parent_type, Path(parent.path, key, typename)
        )
        runtime = resolve_type(value, info, abstract)
        if self.is_awaitable(runtime):
            raise NotImplementedError("asynchronous resolve_type")  # no type of this schema has one
        return executor.ensure_valid_runtime_type(runtime, abstract, fp.details, info, value)

    def complete_object(
        self,
        fp: FieldPlan,
        object_type: Any,
        plan: SelectionPlan,
        value: Any,
        container: Any,
        key: Any,
        nullable: bool,
        parent: Position,
        typename: str | None,
        following: Level,
    ) -> None:
        is_type_of = object_type.is_type_of
        if is_type_of is not None:
            matches = is_type_of(value, None)
            if self.is_awaitable(matches):
                raise NotImplementedError("asynchronous is_type_of")  # no type of this schema has one
            if not matches:
                raise GraphQLError(
                    f"Expected value of type '{object_type}' but got: {inspect(value)}.", fp.nodes
                )
        result: dict[str, Any] = {}
        container[key] = result
        if plan.fill is not None and plan.fill(value, result):
            return
        entry = Entry(value, result, plan, container, key, nullable, parent, typename)
        bucket = following.get(id(plan))
        if bucket is None:
            following[id(plan)] = [entry]
        else:
            bucket.append(entry)

    def complete_list(
        self,
        fp: FieldPlan,
        shape: Shape,
        value: Any,
        container: Any,
        key: Any,
        nullable: bool,
        parent: Position,
        typename: str | None,
        following: Level,
    ) -> None:
        if not is_iterable(value):
            raise GraphQLError(
                f"Expected Iterable, but did not find one for field '{fp.parent_type.name}.{fp.field_name}'."
            )
        items: list[Any] = []
        container[key] = items
        here = Position(container, key, nullable, parent, typename)
        item_shape = shape.item
        assert item_shape is not None
        item_nullable = shape.item_nullable
        if item_shape.kind == "object":
            # One plan for every item: the list's item type is one object type.
            object_type = item_shape.graphql_type
            plan = child_plan(self.executor, fp, object_type)
            complete_object = self.complete_object
            for index, item in enumerate(value):
                items.append(None)
                try:
                    if item is None or isinstance(item, Exception) or self.is_awaitable(item):
                        self.list_item_value(fp, item, item_nullable)
                        continue
                    complete_object(
                        fp, object_type, plan, item, items, index, item_nullable, here, None, following
                    )
                except Exception as exc:  # noqa: BLE001
                    self.item_error(exc, fp, here, index, item_nullable)
            return
        complete = self.complete
        for index, item in enumerate(value):
            items.append(None)
            try:
                if item is None or isinstance(item, Exception) or self.is_awaitable(item):
                    self.list_item_value(fp, item, item_nullable)
                    continue
                complete(fp, item_shape, item, items, index, item_nullable, here, None, following)
            except Exception as exc:  # noqa: BLE001
                self.item_error(exc, fp, here, index, item_nullable)

    @staticmethod
    def list_item_value(fp: FieldPlan, item: Any, item_nullable: bool) -> None:
        """A list item that is null, an error or an awaitable: raise what graphql-core would."""
        if isinstance(item, Exception):
            raise item
        if item is not None:
            raise NotImplementedError("awaitable list items")  # no resolver of this schema returns them
        if not item_nullable:
            raise TypeError(null_message(fp))
