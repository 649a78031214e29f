"""The cost of a query, computed from the document and the variables (no database)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from graphql import parse

from schema import schema
from schema.extensions.cost import NESTED_ARGUMENTS, SEARCH_COST, TOP_ARGUMENTS, query_cost
from schema.extensions.cost_variables import read_variables

CASES = json.loads((Path(__file__).parent / "test_cost_cases.json").read_text())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASES, ids=[c["name"] for c in CASES])


def test_cost(case: dict[str, Any]) -> None:
    # given a document and its variables, when its cost is computed
    cost = query_cost(
        schema._schema,
        parse(case["document"]),
        operation_name=case.get("operation"),
        variables=case.get("variables"),
    )
    # then it is the expected number
    assert cost == case["cost"]


def test_invalid_variables_fall_back_to_the_default_page_size() -> None:
    # given a page size variable of the wrong type (execution will refuse it with its own error)
    document = parse("query Paged($n: Int) { users(first: $n) { edges { node { id } } } }")
    # when the cost is computed, then the default page size (20) is assumed
    assert query_cost(schema._schema, document, variables={"n": "many"}) == 61


def test_a_kept_cost_is_the_cost_of_the_same_document_operation_and_variables() -> None:
    # given one parsed document (as the parser's cache hands it out) sent with different page sizes
    document = parse(
        "query A($n: Int) { users(first: $n) { edges { node { id } } } }"
        " query B($n: Int) { campaigns(first: $n) { edges { node { id name } } } }"
    )
    costs = [
        query_cost(schema._schema, document, operation_name=name, variables={"n": n})
        for name, n in (("A", 1), ("A", 50), ("A", 1), ("B", 1))
    ]
    # then each request is charged for what it asks, whatever was asked before
    assert costs[0] == costs[2] != costs[1]
    assert costs[3] != costs[0]
    # and another document of the same text is counted on its own, with the same result
    assert (
        query_cost(schema._schema, parse(document.loc.source.body), operation_name="A", variables={"n": 50})
        == costs[1]
    )


DOCUMENT = """
mutation Ingest($input: RecordCampaignEventsInput!) { recordCampaignEvents(input: $input) { accepted } }
query Find($n: Int, $filter: MerchantFilterInput, $range: DateRangeInput, $unused: MerchantFilterInput) {
  merchants(first: $n, filter: $filter) { edges { node { id } } }
  platformOverview(range: $range) { totalCampaigns }
}
"""
EVENT = {"campaignId": "x", "type": "CLICK", "occurredAt": "2026-12-01T00:00:00Z"}


def _read(name: str) -> frozenset[str]:
    document = parse(DOCUMENT)
    operation = next(d for d in document.definitions if getattr(d, "name", None) and d.name.value == name)
    return read_variables(schema._schema, document, operation, top=TOP_ARGUMENTS, nested=NESTED_ARGUMENTS)


def test_only_the_variables_the_cost_reads_are_coerced_for_it() -> None:
    # a write's batch of events sizes nothing; a page size, a filter that may hold a search and a
    # range do (a filter type holds a search wherever it is used)
    assert _read("Ingest") == set()
    assert _read("Find") == {"n", "filter", "range", "unused"}


def test_a_search_in_a_variable_costs_and_a_batch_of_any_content_costs_the_same() -> None:
    document = parse(DOCUMENT)

    def cost(operation: str, **variables: Any) -> int:
        return query_cost(schema._schema, document, operation_name=operation, variables=variables)

    plain = cost("Find", n=10, filter={"search": " "})
    assert cost("Find", n=10, filter={"search": "cafe"}) == plain + SEARCH_COST
    one = cost("Ingest", input={"events": [EVENT]})
    assert cost("Ingest", input={"events": [EVENT] * 100}) == cost("Ingest", input={"events": "junk"}) == one
