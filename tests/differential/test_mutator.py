"""The mutator, without a database: every document it makes from a valid query is valid (the API would
execute it), and over a few hundred documents every construct it promises appears."""

from __future__ import annotations

import random
import re

import graphql
import pytest

from schema import schema as api
from tests.differential.corpus import entry, refusal
from tests.differential.ir import from_text, to_text
from tests.differential.mutator import RATES, Mutator
from tests.differential.values import Values
from tests.differential.world import NODE_TABLES, World

WORLD = World(
    viewers={"admin": {"user_id": 1}},
    ids={name: [1, 2, 3] for name in NODE_TABLES},
    own={},
    flag_keys=["dark_mode", "community_feed"],
    words=["Coffee"],
    cities=["Austin"],
    segments=["new_users"],
    audit={"entity_type": ["campaign"], "action": ["campaign.update"]},
    places=[(40.7, -74.0)],
    today="2026-03-15",
)
BASES = [
    '{ campaigns(first: 3, filter: {status: [RUNNING], merchantId: "x"}) { totalCount edges { node { id name'
    ' merchant { name category { name } } performance(range: {start: "2026-03-01", end: "2026-03-10"})'
    " { impressions roas } } } } }",
    '{ node(id: "x") { id ... on Campaign { name status } ... on Merchant { name city } }'
    " merchantCategories { name } }",
    '{ nodes(ids: ["x", "y"]) { ... on User { email loyaltyTier } } me { name transactions(first: 2)'
    " { edges { node { amount merchant { name } } } } } }",
    '{ merchants(first: 5, sort: NAME, filter: {city: "Austin"}) { edges { cursor node { name rating } }'
    ' pageInfo { hasNextPage } } evaluateFlags(context: {segment: "new_users"}, keys: ["dark_mode"])'
    " { key value } }",
    "{ experiments(first: 2) { edges { node { key variants { key weight assignedUsers } } } }"
    " topCampaigns(metric: CLICKS, first: 3) { value campaign { name } } }",
    '{ flag(key: "dark_mode") { key rollouts { active } auditLog(first: 2) { totalCount } } }',
]


def _documents(seeds: int) -> list[dict[str, object]]:
    found = []
    for n in range(seeds):
        values = Values(api._schema, WORLD, "admin", random.Random(n))
        mutator = Mutator(api._schema, values, random.Random(n))
        previous = None
        for text in BASES:
            base = values.fix(from_text(api._schema, text))
            assert refusal(api._schema, to_text(base), None, None) is None, to_text(base)
            found.append(entry("admin", mutator.mutate(base, previous)))
            previous = base
    return found


@pytest.fixture(scope="module")
def documents() -> list[dict[str, object]]:
    return _documents(40)


def test_every_mutated_document_would_execute(documents: list[dict[str, object]]) -> None:
    refused = [
        (d["document"], problem)
        for d in documents
        if (problem := refusal(api._schema, str(d["document"]), d.get("operationName"), d.get("variables")))  # type: ignore[arg-type]
    ]
    assert refused == []


@pytest.mark.parametrize(
    "construct",
    [
        r"query \w+\(\$v\d+: [\w!\[\]]+\)",  # a named operation with a variable
        r"\$v\d+: [\w!\[\]]+ = ",  # a variable with a default
        r": \$v\d+\}",  # a variable inside an input object
        r"@skip\(if: (true|false)\)",
        r"@include\(if: \$b\d+\)",
        r"\.\.\.F\d+ \.\.\.F\d+",  # one fragment spread twice
        r"fragment F\d+ on Query",
        r"\.\.\.F\d+ @(skip|include)",
        r"\.\.\. on \w+ \{",
        r"\.\.\. (@\w+\(if: [^)]*\) )?\{",  # an inline fragment without a type condition
        r"__typename",
        r"\b(\w+)_\d+: \1\(",  # a second alias of a field, with arguments
        r"a_\w+_\d+: \w+",
    ],
)
def test_every_construct_appears(documents: list[dict[str, object]], construct: str) -> None:
    assert any(re.search(construct, str(d["document"])) for d in documents)


def test_documents_of_two_operations_name_the_one_to_run(documents: list[dict[str, object]]) -> None:
    several = [d for d in documents if str(d["document"]).count("query ") >= 2]
    assert several
    assert all(d.get("operationName") for d in several)


def _repeated_response_name(text: str) -> bool:
    """A response name selected twice in one selection set (directly or through inline fragments)."""
    for node in _selection_sets(graphql.parse(text)):
        names: list[str] = []
        stack = list(node.selections)
        while stack:
            s = stack.pop()
            if isinstance(s, graphql.FieldNode):
                names.append((s.alias or s.name).value)
            elif isinstance(s, graphql.InlineFragmentNode):
                stack.extend(s.selection_set.selections)
        if len(names) != len(set(names)):
            return True
    return False


def _selection_sets(node: object) -> list[graphql.SelectionSetNode]:
    found = []
    for key in getattr(node, "keys", ()):
        child = getattr(node, key, None)
        for item in child if isinstance(child, tuple | list) else [child]:
            if isinstance(item, graphql.SelectionSetNode):
                found.append(item)
            if isinstance(item, graphql.Node):
                found += _selection_sets(item)
    return found


def test_a_field_is_duplicated_for_merging(documents: list[dict[str, object]]) -> None:
    assert sum(_repeated_response_name(str(d["document"])) for d in documents) > len(documents) // 10


def test_each_mutation_is_applied() -> None:
    values = Values(api._schema, WORLD, "admin", random.Random(1))
    mutator = Mutator(api._schema, values, random.Random(1))
    base = values.fix(from_text(api._schema, BASES[0]))
    for _ in range(60):
        mutator.mutate(base, base)
    assert [name for name in RATES if mutator.applied[name] == 0] == []


def test_the_same_seed_makes_the_same_documents() -> None:
    assert _documents(3) == _documents(3)
