"""The planned executor against graphql-core's on a small schema built to fail: errors at every depth,
under non-null and nullable parents, in lists of nullable and non-null items, through interfaces,
unions, fragments, aliases and `@skip`/`@include`. The whole API's differential corpus is in
tests/differential/; this file pins the corner cases of null propagation one by one."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
import strawberry

from schema.execution import PlannedExecution, graphql_core_only


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Leaf(Named):
    @strawberry.field
    def exact(self) -> str:
        if self.name.startswith("bad"):
            raise ValueError(f"no exact value for {self.name}")
        return self.name.upper()

    @strawberry.field
    async def later(self) -> str | None:
        await asyncio.sleep(0)
        if self.name.startswith("bad"):
            raise ValueError(f"later failed for {self.name}")
        return self.name[::-1]

    @strawberry.field
    async def required_later(self) -> str:
        await asyncio.sleep(0)
        if self.name.startswith("bad"):
            raise ValueError(f"required later failed for {self.name}")
        return self.name

    @strawberry.field
    def missing(self) -> str:
        return None  # type: ignore[return-value]  # a non-null field resolving to null


@strawberry.type
class Other(Named):
    size: int


@strawberry.type
class Plain:
    """Only attributes: completed in one loop where it is met, until one is null where it may not be."""

    name: str
    note: str | None


@strawberry.type
class Mid:
    label: str
    plains: list[Plain] | None
    leaves: list[Leaf]
    maybe_leaves: list[Leaf | None] | None
    grid: list[list[int | None]]

    @strawberry.field
    async def required_leaf(self) -> Leaf:
        return self.leaves[0]

    @strawberry.field
    async def optional_leaf(self) -> Leaf | None:
        return self.leaves[-1]

    @strawberry.field
    def things(self) -> list[Named]:
        return [*self.leaves, Other(name="other", size=3)]

    @strawberry.field
    def union(self) -> list[Leaf | Other]:
        return [Other(name="o", size=1), *self.leaves]


def _mid(label: str, *names: str) -> Mid:
    leaves = [Leaf(name=n) for n in names]
    plains = [Plain(name=n, note=None) for n in names] + [Plain(name=None, note=label)] * (label == "b")  # type: ignore[arg-type]
    return Mid(label=label, plains=plains, leaves=leaves, maybe_leaves=[*leaves, None], grid=[[1, None], [2]])


@strawberry.type
class Query:
    @strawberry.field
    async def mids(self) -> list[Mid | None]:
        return [_mid("a", "x", "y"), _mid("b", "bad1", "z"), _mid("c", "w", "bad2")]

    @strawberry.field
    def top(self) -> Mid:
        return _mid("top", "t", "bad3")

    @strawberry.field
    def maybe_top(self) -> Mid | None:
        return _mid("maybe", "bad4")

    @strawberry.field
    def echo(self, times: int, word: str = "hi") -> list[str]:
        return [word] * times

    @strawberry.field
    def broken_list(self) -> list[int]:
        return [1, None, 3]  # type: ignore[list-item]


planned_schema = strawberry.Schema(query=Query, types=[Leaf, Other], execution_context_class=PlannedExecution)

SKIP_INCLUDE = (
    "query Q($s: Boolean!, $i: Boolean!) { mids { label @skip(if: $s) leaves @include(if: $i) { name } } }"
)
DOCUMENTS: list[tuple[str, dict[str, Any] | None]] = [
    ("{ mids { label leaves { name exact } } }", None),
    ("{ mids { label leaves { name later } } }", None),
    ("{ mids { label leaves { name requiredLater } } }", None),
    ("{ mids { label requiredLeaf { exact } optionalLeaf { exact } } }", None),
    ("{ top { label leaves { exact } } }", None),
    ("{ top { label maybeLeaves { exact later } } maybeTop { requiredLeaf { exact } } }", None),
    ("{ mids { leaves { missing } } maybeTop { label } }", None),
    ("{ mids { grid } top { grid } }", None),
    ("{ mids { label plains { name note } } }", None),
    ("{ mids { plains { note __typename } } }", None),
    ("{ mids { plains { name @skip(if: true) } leaves { name @include(if: false) } } }", None),
    ("{ mids { things { __typename name ... on Leaf { exact } ... on Other { size } } } }", None),
    ("{ top { union { __typename ... on Other { size } ... on Leaf { later } } } }", None),
    ("{ brokenList maybeTop { label } }", None),
    ('{ a: echo(times: 2) b: echo(times: 1, word: "yo") mids { label } }', None),
    ("query Q($t: Int!) { echo(times: $t) }", {"t": 3}),
    (SKIP_INCLUDE, {"s": True, "i": True}),
    (SKIP_INCLUDE, {"s": False, "i": False}),
    (
        "fragment L on Leaf { name exact } { mids { leaves { ...L later } first: requiredLeaf { ...L } } }",
        None,
    ),
    ("{ mids { leaves { name } leaves { exact } label label: label } }", None),
    ("{ top { requiredLeaf { requiredLater } } mids { label } }", None),
]


def _errors(result: Any) -> set[tuple[Any, ...]]:
    return {
        (
            e.message,
            tuple(e.path or ()),
            tuple((loc.line, loc.column) for loc in e.locations or ()),
            (e.extensions or {}).get("code"),
        )
        for e in result.errors or []
    }


@pytest.mark.parametrize(("document", "variables"), DOCUMENTS)
async def test_both_executors_give_the_same_response(document: str, variables: dict[str, Any] | None) -> None:
    planned = await planned_schema.execute(document, variable_values=variables)
    with graphql_core_only():
        reference = await planned_schema.execute(document, variable_values=variables)

    assert orjson.dumps(planned.data) == orjson.dumps(reference.data)
    assert _errors(planned) == _errors(reference)


async def test_a_non_null_error_at_depth_three_nulls_the_nearest_nullable_parent() -> None:
    result = await planned_schema.execute("{ mids { label leaves { name exact } } }")

    # mids[1].leaves[0].exact is non-null, leaves' items are non-null and so is the list: mids[1] is null
    assert result.data == {
        "mids": [
            {"label": "a", "leaves": [{"name": "x", "exact": "X"}, {"name": "y", "exact": "Y"}]},
            None,
            None,
        ]
    }
    assert sorted(tuple(e.path) for e in result.errors) == [
        ("mids", 1, "leaves", 0, "exact"),
        ("mids", 2, "leaves", 1, "exact"),
    ]


async def test_an_error_up_to_the_root_nulls_data() -> None:
    result = await planned_schema.execute("{ top { leaves { exact } } }")

    assert result.data is None
    assert [tuple(e.path) for e in result.errors] == [("top", "leaves", 1, "exact")]
