"""Where each value of a response lives, and how a field error nulls it (the spec's null propagation).

Every object or list lives at a `Position` (its container, key, whether it may be null, and the position
around it). A field error in a nullable position nulls that position; in a non-null one it nulls the
nearest nullable position above (or the whole `data`). An error is recorded only if no position above
it was already nulled, and objects under a nulled position are not resolved further: graphql-core
cancels their siblings and drops their errors (its CollectedErrors), so the same errors are reported.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, located_error
from graphql.pyutils import Path

from schema.execution.plans import FieldPlan, SelectionPlan


class Position:
    """Where a value lives: `container[key]`, inside the value at `parent` (None: the root)."""

    __slots__ = ("_path", "container", "dead", "key", "nullable", "parent", "typename")

    def __init__(
        self, container: Any, key: Any, nullable: bool, parent: Position | None, typename: str | None
    ) -> None:
        self.container = container
        self.key = key
        self.nullable = nullable
        self.parent = parent
        # The parent object's type name for a field's position (graphql-core's Path.typename); None for
        # a list item.
        self.typename = typename
        self.dead = False
        self._path: Path | None = None

    @property
    def path(self) -> Path | None:
        # Built on first use: most objects never need theirs (no resolver, no error).
        if self._path is None and self.parent is not None:
            self._path = Path(self.parent.path, self.key, self.typename)
        return self._path


class Entry(Position):
    """An object to complete: its source, its result dict and its plan."""

    __slots__ = ("checked", "plan", "result", "source")

    def __init__(
        self,
        source: Any,
        result: dict[str, Any],
        plan: SelectionPlan,
        container: Any,
        key: Any,
        nullable: bool,
        parent: Position | None,
        typename: str | None,
    ) -> None:
        super().__init__(container, key, nullable, parent, typename)
        self.source = source
        self.result = result
        self.plan = plan
        # The death count at which this entry was last seen alive (see BreadthFirst.alive).
        self.checked = -1


Level = dict[int, list[Entry]]


class Propagation:
    """The errors of one execution and the positions they nulled."""

    def __init__(self, executor: Any) -> None:
        self.executor = executor
        self.errors: list[GraphQLError] = executor.collected_errors.errors
        self.deaths = 0
        self.data_nulled = False

    def alive_at(self, position: Position | None) -> bool:
        if self.data_nulled:
            return False
        while position is not None:
            if position.dead:
                return False
            position = position.parent
        return True

    def alive(self, entry: Entry) -> bool:
        # Deaths are rare: an entry seen alive since the last one needs no walk up its positions.
        if entry.checked == self.deaths:
            return True
        if not self.alive_at(entry):
            return False
        entry.checked = self.deaths
        return True

    def item_error(
        self, exc: Exception, fp: FieldPlan, here: Position, index: int, item_nullable: bool
    ) -> None:
        error = located_error(exc, fp.nodes, Path(here.path, index, None).as_list())
        if not item_nullable:
            raise error from None
        if self.alive_at(here):
            self.errors.append(error)

    def field_error(self, exc: Exception, fp: FieldPlan, entry: Entry) -> None:
        error = located_error(
            exc, fp.nodes, Path(entry.path, fp.response_name, fp.parent_type.name).as_list()
        )
        if fp.nullable:
            if self.alive(entry):
                entry.result[fp.response_name] = None
                self.errors.append(error)
            return
        self.bubble(entry, error)

    def bubble(self, start: Position, error: GraphQLError) -> None:
        """A non-null position inside `start`'s value was nulled: null the nearest nullable position."""
        handling: Position | None = start
        while handling is not None and not handling.nullable:
            handling = handling.parent
        if not self.alive_at(handling):
            return
        self.errors.append(error)
        self.deaths += 1
        position: Position | None = start
        while position is not handling:
            assert position is not None
            position.dead = True
            position = position.parent
        if handling is None:
            self.data_nulled = True
            return
        handling.dead = True
        handling.container[handling.key] = None


def null_message(fp: FieldPlan) -> str:
    return f"Cannot return null for non-nullable field {fp.parent_type.name}.{fp.field_name}."
