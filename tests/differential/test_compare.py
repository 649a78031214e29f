"""What counts as the same answer, without a database: key order and list order count, error order and
request ids do not, and an answer's depth is that of the fields selected (not of a JSON scalar)."""

from __future__ import annotations

from graphql import ExecutionResult, GraphQLError, Source

from tests.differential.compare import Case, Mismatch, answer, data_depth

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
