"""What counts as the same answer, without a database: key order and list order count, error order and
request ids do not, errors may differ only inside a subtree nulled on both sides by an error both
report there (graphql-core's own timing), and an answer's depth is that of the fields selected (not of a
JSON scalar)."""

from __future__ import annotations

import orjson
from graphql import ExecutionResult, GraphQLError, Source

from tests.differential.answers import (
    Case,
    answer,
    data_depth,
    field_path,
    masked,
    null_position,
    same,
    unstable_paths,
)
from tests.differential.compare import Mismatch

DOCUMENT = "{ me { name } merchants { edges { node { name operatingHours } } } }"
CASE = Case("admin", DOCUMENT)


def _error(message: str, path: list[object], request_id: str, code: str = "INTERNAL") -> GraphQLError:
    return GraphQLError(
        message,
        source=Source(DOCUMENT),
        positions=[2],
        path=path,
        extensions={"code": code, "requestId": request_id},
    )


def test_key_order_counts() -> None:
    a = answer(ExecutionResult({"me": {"name": "x"}, "merchants": None}), CASE)
    b = answer(ExecutionResult({"merchants": None, "me": {"name": "x"}}), CASE)
    assert a.data != b.data


def test_list_order_counts() -> None:
    a = answer(ExecutionResult({"x": [1, 2]}), CASE)
    b = answer(ExecutionResult({"x": [2, 1]}), CASE)
    assert a.data != b.data


def test_errors_compare_as_a_multiset_without_the_request_id() -> None:
    first, second = _error("a", ["me"], "r1"), _error("b", ["merchants", "edges", 0], "r1")
    again = [_error("b", ["merchants", "edges", 0], "r2"), _error("a", ["me"], "r2")]
    assert (
        answer(ExecutionResult(None, [first, second]), CASE).errors
        == answer(ExecutionResult(None, again), CASE).errors
    )
    assert (
        answer(ExecutionResult(None, [first]), CASE).errors
        != answer(ExecutionResult(None, [first, first]), CASE).errors
    )


def test_the_code_the_path_and_the_locations_count() -> None:
    base = answer(ExecutionResult(None, [_error("a", ["me"], "r")]), CASE).errors
    assert base != answer(ExecutionResult(None, [_error("a", ["me"], "r", code="FORBIDDEN")]), CASE).errors
    assert base != answer(ExecutionResult(None, [_error("a", ["merchants"], "r")]), CASE).errors
    moved = GraphQLError(
        "a", source=Source(DOCUMENT), positions=[5], path=["me"], extensions={"code": "INTERNAL"}
    )
    assert base != answer(ExecutionResult(None, [moved]), CASE).errors


def test_depth_counts_selected_fields_not_json_structure() -> None:
    deep_json = {
        "me": None,
        "merchants": {"edges": [{"node": {"name": "x", "operatingHours": {"mon": {"a": 1}}}}]},
    }
    assert data_depth(deep_json, DOCUMENT) == 4
    assert data_depth({"me": {"name": "x"}, "merchants": {"edges": []}}, DOCUMENT) == 2
    assert data_depth({"me": None, "merchants": None}, DOCUMENT) == 0
    assert data_depth(None, DOCUMENT) == 0


def test_a_mismatch_shows_the_document_the_variables_and_a_diff() -> None:
    case = Case("customer", DOCUMENT, {"id": "x"})
    text = str(
        Mismatch(
            case, answer(ExecutionResult({"x": [1, 2]}), case), answer(ExecutionResult({"x": [2, 1]}), case)
        )
    )
    assert "merchants {" in text and '{"id": "x"}' in text
    assert "-      1,\n-      2\n+      2,\n+      1" in text


def test_null_positions() -> None:
    data = {"a": {"b": [{"c": None}, None]}, "d": None}
    assert null_position(data, ("a", "b", 0, "c")) == ("a", "b", 0, "c")
    assert null_position(data, ("a", "b", 1, "x", "y")) == ("a", "b", 1)
    assert null_position(data, ("d", "e")) == ("d",)
    assert null_position(data, ("a", "b")) is None
    assert null_position(None, ("a", "b")) == ()


def test_errors_inside_a_null_both_explain_are_timing() -> None:
    # the whole data nulled by `nodes`; one side also got to report a sibling's error before it stopped
    cause, sibling = _error("boom", ["nodes"], "r"), _error("no", ["me", "phone"], "r", code="FORBIDDEN")
    reference = answer(ExecutionResult(None, [cause, sibling]), CASE)
    candidate = answer(ExecutionResult(None, [cause]), CASE)
    assert same(reference, candidate) == "timing"
    assert same(reference, reference) == "same"


def _same(data: object, reference: list[GraphQLError], candidate: list[GraphQLError]) -> str | None:
    return same(
        answer(ExecutionResult(data, reference), CASE), answer(ExecutionResult(data, candidate), CASE)
    )


def test_an_error_no_null_of_the_other_side_explains_is_a_difference() -> None:
    data = {"me": None, "merchants": None}
    me, merchants = _error("a", ["me"], "r"), _error("b", ["merchants"], "r")
    edges = _error("c", ["merchants", "edges"], "r")
    # an error left out where nothing else nulls its subtree
    assert _same(data, [me, merchants], [me]) is None
    # an error inside a null the other side reports too: timing
    assert _same(data, [me, merchants, edges], [me, merchants]) == "timing"
    # `merchants` nulled by its own resolver on one side, by a child on the other: no timing does that
    assert _same(data, [me, edges], [me, merchants]) is None
    # different data is never timing
    assert same(answer(ExecutionResult({"me": None}), CASE), answer(ExecutionResult(None), CASE)) is None


def test_leaves_the_reference_answers_differently_are_masked_and_nothing_else() -> None:
    first = orjson.dumps({"r": {"computedAt": "t1", "rows": [{"n": 1}, {"n": 2}]}})
    again = orjson.dumps({"r": {"computedAt": "t2", "rows": [{"n": 1}, {"n": 2}]}})
    paths = unstable_paths(first, again)
    assert paths == {("r", "computedAt")}
    assert field_path(("r", "rows", 1, "n")) == "r.rows.n"
    candidate = answer(ExecutionResult({"r": {"computedAt": "t3", "rows": [{"n": 1}, {"n": 2}]}}), CASE)
    reference = answer(ExecutionResult(orjson.loads(first)), CASE)
    assert same(masked(reference, paths), masked(candidate, paths)) == "same"
    reordered = answer(ExecutionResult({"r": {"computedAt": "t3", "rows": [{"n": 2}, {"n": 1}]}}), CASE)
    assert same(masked(reference, paths), masked(reordered, paths)) is None
    # answers of other shapes (key order, list lengths) are never masked into agreement
    assert unstable_paths(orjson.dumps({"a": 1, "b": 2}), orjson.dumps({"b": 2, "a": 1})) is None
    assert unstable_paths(orjson.dumps([1]), orjson.dumps([1, 2])) is None
