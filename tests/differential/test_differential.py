"""Proof that the planned executor changes nothing (issue 10, part 4): documents run by the reference
(graphql-core's executor) and the candidate (tests/differential/executors.py), as every role, against
one seeded state, give the same `data` (byte for byte, key order included) and the same errors (a
multiset of message, path, locations, code), up to what graphql-core does not repeat against itself
(errors inside subtrees it nulls, the clock): answers.py.

The slice in `make test`: every query document of tests/ and the README, the first SLICE_PER_ROLE
queries per role of the committed corpus, and the injected errors; `python -m bench.differential`
runs the full corpus. `pytest -s` shows each part's table (coverage included).
"""

from __future__ import annotations

import json

import graphql
import pytest

from schema import schema as api
from tests.differential import corpus as generated
from tests.differential.broken import BROKEN
from tests.differential.compare import Case, Comparison
from tests.differential.documents import collected_cases, found_documents
from tests.differential.executors import Executors, _schema_with
from tests.differential.faults import FAULTS, run_faults
from tests.differential.harness import corpus_cases
from tests.differential.world import ROLES, World

# Below this share of answers with data three levels deep, the slice no longer explores the graph.
MIN_COVERAGE = 0.5
# One role's 100 queries vary more: any schema change re-rolls Hypothesis's choices (a new type moves
# every later draw), and roles that see little (anonymous: merchants and flags) draw shallow answers
# often. Each must still reach into the graph this often.
MIN_ROLE_COVERAGE = 0.3


def _first_mismatch(comparison: Comparison) -> str:
    found = comparison.mismatches
    return f"{len(found)} disagreements; the first:\n{found[0]}" if found else ""


def _slice(world: World) -> list[Case]:
    cases, warning = corpus_cases(generated.CORPUS, world, generated.SLICE_PER_ROLE)
    if warning:
        print(f"warning: {warning}")
    return cases


async def test_the_documents_of_tests_and_the_readme_agree(comparison: Comparison, world: World) -> None:
    found = found_documents()
    assert sum(where == "README.md" for where, _ in found) >= 3
    assert len(found) >= 100
    cases, skipped = collected_cases(api._schema, world)
    run = comparison.fresh()
    await run.run_by_role(cases, "tests/ and README")
    print(f"\n{len(found)} documents, {skipped} operations skipped (required variables not fillable)")
    print(run.report())
    assert not run.mismatches, _first_mismatch(run)
    assert skipped < len(found) // 5


async def test_the_generated_corpus_agrees_and_reaches_into_the_graph(
    comparison: Comparison, world: World
) -> None:
    cases = _slice(world)
    assert {case.role for case in cases} == set(ROLES)
    run = comparison.fresh()
    await run.run_by_role(cases, "generated corpus")
    print(f"\n{run.executors.describe()}\n{run.report()}")
    assert not run.mismatches, _first_mismatch(run)
    deep = sum(t.deep for t in run.tallies.values()) / sum(t.queries for t in run.tallies.values())
    assert deep >= MIN_COVERAGE, f"only {deep:.0%} of the answers reach depth 3"
    shallow = {role: f"{t.coverage:.0%}" for role, t in run.tallies.items() if t.coverage < MIN_ROLE_COVERAGE}
    assert shallow == {}, f"less than {MIN_ROLE_COVERAGE:.0%} of these roles' answers reach depth 3"


def test_the_corpus_selects_every_root_field() -> None:
    selected: set[str] = set()
    for case in json.loads(generated.CORPUS.read_text("utf-8"))["cases"]:
        for definition in graphql.parse(case["document"]).definitions:
            selected |= {s.name.value for s in _root_selections(definition)}
    assert set(generated.root_fields(api._schema)) - selected == set()


def _root_selections(definition: object) -> list[graphql.FieldNode]:
    # Root fields sit in operations and in fragments on Query, inside inline fragments at any depth.
    if (
        isinstance(definition, graphql.FragmentDefinitionNode)
        and definition.type_condition.name.value != "Query"
    ):
        return []
    if not isinstance(definition, graphql.OperationDefinitionNode | graphql.FragmentDefinitionNode):
        return []
    found, stack = [], list(definition.selection_set.selections)
    while stack:
        s = stack.pop()
        if isinstance(s, graphql.FieldNode):
            found.append(s)
        elif isinstance(s, graphql.InlineFragmentNode):
            stack.extend(s.selection_set.selections)
    return found


async def test_injected_errors_propagate_alike(comparison: Comparison, world: World) -> None:
    run = comparison.fresh()
    answers = await run_faults(run, _slice(world))
    print(f"\ninjected errors\n{run.report()}")
    assert not run.mismatches, _first_mismatch(run)
    for fault in FAULTS:
        hit = answers[fault.name]
        assert any(a.errors for a in hit), f"fault {fault.name!r} raised nowhere"
        if fault.reaches_root:
            assert any(a.data == b"null" for a in hit), f"fault {fault.name!r} never nulled the whole answer"
    assert sum(bool(a.errors) for a in answers["by-id loads"]) > len(answers["by-id loads"]) // 4


@pytest.mark.parametrize("broken", BROKEN, ids=[b.__name__ for b in BROKEN])
async def test_a_different_executor_fails_the_comparison(
    comparison: Comparison, world: World, broken: type
) -> None:
    """The comparison can fail: an executor that reverses lists, reorders keys or drops an error is caught,
    with the document, the variables and a diff in the message."""
    executors = Executors(comparison.executors.reference, _schema_with(broken), broken, "test")
    run = comparison.fresh(executors)
    cases = [c for c in _slice(world) if c.role == "admin"][:40]
    with_errors = [
        Case(
            "admin",
            "{ merchantCategories { name } campaign(id: 1) { name } me { name }"
            " users(first: -1) { totalCount } }",
        )
    ]
    await run.run(cases + with_errors)
    assert run.mismatches, f"{broken.__name__} agreed with the reference"
    text = str(run.mismatches[0])
    assert "--- document" in text and "--- diff" in text and "+++ candidate" in text
