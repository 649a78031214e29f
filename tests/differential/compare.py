"""One document run by both executors as one viewer, and whether the answers are the same.

The same means: `data` serialises to the same bytes (orjson keeps dict order, so key order counts),
and the errors are the same multiset of (message, path, locations, code); the request id differs by
construction and the spec leaves the order of errors open.
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import graphql
import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.context import RequestContext
from core.settings import Settings
from tests.differential.world import World

# Data at this depth or deeper counts as a query that reached into the graph (the corpus's coverage).
DEEP = 3


@dataclass(frozen=True)
class Case:
    role: str
    document: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    source: str = "generated"

    @classmethod
    def of(cls, entry: dict[str, Any]) -> Case:
        return cls(
            role=entry["role"],
            document=entry["document"],
            variables=entry.get("variables"),
            operation_name=entry.get("operationName"),
            source=entry.get("source", "generated"),
        )


ErrorKey = tuple[str, tuple[Any, ...] | None, tuple[tuple[int, int], ...] | None, Any]


@dataclass(frozen=True)
class Answer:
    data: bytes
    errors: Counter[ErrorKey]
    depth: int

    def readable(self) -> str:
        errors = sorted(self.errors.elements(), key=repr)
        body = {
            "data": orjson.loads(self.data),
            "errors": [{"message": m, "path": p, "locations": loc, "code": c} for m, p, loc, c in errors],
        }
        return json.dumps(body, indent=2, ensure_ascii=False)


def _error_key(error: Any) -> ErrorKey:
    locations = error.locations
    return (
        error.message,
        None if error.path is None else tuple(error.path),
        None if locations is None else tuple((loc.line, loc.column) for loc in locations),
        (error.extensions or {}).get("code"),
    )


Tree = dict[str, "Tree | None"]  # response name -> what is selected under it (None: a leaf)


def _collect(selection_set: Any, fragments: dict[str, Any], into: Tree) -> Tree:
    for s in selection_set.selections:
        if isinstance(s, graphql.FieldNode):
            key = (s.alias or s.name).value
            if s.selection_set is None:
                into.setdefault(key, None)
            else:
                into[key] = _collect(s.selection_set, fragments, into.get(key) or {})
        elif isinstance(s, graphql.InlineFragmentNode):
            _collect(s.selection_set, fragments, into)
        elif s.name.value in fragments:
            _collect(fragments[s.name.value].selection_set, fragments, into)
    return into


@functools.lru_cache(maxsize=4096)
def _selected(document: str, operation_name: str | None) -> Tree:
    """Every response name of the operation and what it selects, type conditions and directives aside."""
    try:
        parsed = graphql.parse(document)
    except graphql.GraphQLError:
        return {}
    fragments = {d.name.value: d for d in parsed.definitions if isinstance(d, graphql.FragmentDefinitionNode)}
    operations = [d for d in parsed.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    chosen = [
        op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)
    ]
    return _collect(chosen[0].selection_set, fragments, {}) if chosen else {}


def depth(value: Any, tree: Tree | None) -> int:
    """Levels of fields holding a value: `{"me": {"name": "x"}}` is 2; a null adds no level, nor does a
    JSON scalar's own structure (a leaf is one level, whatever its value)."""
    if value is None:
        return 0
    if isinstance(value, list):
        return max((depth(item, tree) for item in value), default=1)
    if tree is None or not isinstance(value, dict):
        return 1
    return 1 + max((depth(v, tree.get(k)) for k, v in value.items()), default=0)


def data_depth(data: dict[str, Any] | None, document: str, operation_name: str | None = None) -> int:
    if not data:
        return 0
    tree = _selected(document, operation_name)
    return max(depth(v, tree.get(k)) for k, v in data.items())


def answer(result: Any, case: Case) -> Answer:
    data = orjson.dumps(result.data, default=str)
    return Answer(
        data=data,
        errors=Counter(_error_key(e) for e in result.errors or []),
        depth=data_depth(result.data, case.document, case.operation_name),
    )


@dataclass
class Mismatch:
    case: Case
    reference: Answer
    candidate: Answer
    label: str = ""

    def __str__(self) -> str:
        diff = "\n".join(
            difflib.unified_diff(
                self.reference.readable().splitlines(),
                self.candidate.readable().splitlines(),
                "reference",
                "candidate",
                lineterm="",
            )
        )
        c = self.case
        try:
            document = graphql.print_ast(graphql.parse(c.document))
        except graphql.GraphQLError:
            document = c.document
        variables = json.dumps(c.variables, ensure_ascii=False) if c.variables else "{}"
        return (
            f"executors disagree{' (' + self.label + ')' if self.label else ''}: role {c.role},"
            f" source {c.source}, operationName {c.operation_name!r}\n"
            f"--- document\n{document}\n--- variables\n{variables}\n--- diff\n{diff}"
        )


@dataclass
class Tally:
    queries: int = 0
    agree: int = 0
    deep: int = 0
    with_errors: int = 0
    internal: int = 0
    seconds: float = 0.0

    @property
    def coverage(self) -> float:
        return self.deep / self.queries if self.queries else 0.0

    def line(self, role: str) -> str:
        return (
            f"{role:<10} queries {self.queries:>5}  agree {self.agree:>5}  disagree"
            f" {self.queries - self.agree:>4}  depth>={DEEP} {self.coverage:6.1%}"
            f"  with errors {self.with_errors:>4}  INTERNAL {self.internal:>3}  {self.seconds:6.1f}s"
        )


@dataclass
class Comparison:
    """Runs cases through both executors on one pool and keeps what it saw."""

    executors: Any
    world: World
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    concurrency: int = 6
    tallies: dict[str, Tally] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)

    def fresh(self, executors: Any = None) -> Comparison:
        """A comparison on the same pool with nothing seen yet (and, if given, other executors)."""
        return Comparison(
            executors or self.executors, self.world, self.settings, self.sessionmaker, self.concurrency
        )

    async def execute(self, api: Any, case: Case) -> Any:
        context = RequestContext(
            request=None,
            settings=self.settings,
            sessionmaker=self.sessionmaker,
            write_sessionmaker=self.sessionmaker,
            redis=None,
            viewer=self.world.viewer(case.role),
            request_id=uuid.uuid4().hex,
            client_ip="127.0.0.1",
        )
        return await api.execute(
            case.document,
            variable_values=case.variables,
            context_value=context,
            operation_name=case.operation_name,
        )

    async def compare(self, case: Case, label: str = "") -> tuple[Answer, Mismatch | None]:
        """The reference's answer, and how the candidate's differs (None: it does not)."""
        reference = answer(await self.execute(self.executors.reference, case), case)
        candidate = answer(await self.execute(self.executors.candidate, case), case)
        tally = self.tallies.setdefault(case.role, Tally())
        tally.queries += 1
        tally.deep += reference.depth >= DEEP
        tally.with_errors += bool(reference.errors)
        tally.internal += any(key[3] == "INTERNAL" for key in reference.errors)
        if reference.data == candidate.data and reference.errors == candidate.errors:
            tally.agree += 1
            return reference, None
        mismatch = Mismatch(case, reference, candidate, label)
        self.mismatches.append(mismatch)
        return reference, mismatch

    async def run(self, cases: list[Case], label: str = "") -> list[Answer]:
        """Every case, a few at a time (each execution on its own context and connections); the
        reference's answers, in the order of the cases."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(case: Case) -> Answer:
            async with gate:
                reference, _ = await self.compare(case, label)
                return reference

        return list(await asyncio.gather(*(one(case) for case in cases)))

    async def run_by_role(self, cases: list[Case], label: str = "") -> None:
        """`run`, one role after the other, so each role's time is its own."""
        for role in dict.fromkeys(case.role for case in cases):
            started = time.perf_counter()
            await self.run([case for case in cases if case.role == role], label)
            self.tallies[role].seconds += time.perf_counter() - started

    def report(self) -> str:
        return "\n".join(tally.line(role) for role, tally in self.tallies.items())
