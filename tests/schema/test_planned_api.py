"""Which executor answers what, and plans made once per document and skip/include values."""

from __future__ import annotations

from typing import Any

import pytest

from core.viewer import Role, Viewer
from schema.execution import executor as planned

ADMIN = Viewer(role=Role.ADMIN, user_id=None)
MARKETER = Viewer(role=Role.MARKETER, user_id=None)

CAMPAIGNS = (
    "query ($skip: Boolean!) { campaigns(first: 2) { totalCount @skip(if: $skip) edges { node { name } } } }"
)


@pytest.fixture
def plans_built(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    built: list[Any] = []
    original = planned.PlannedExecution.build_plan

    def counted(self: Any) -> Any:
        plan = original(self)
        built.append(plan)
        return plan

    monkeypatch.setattr(planned.PlannedExecution, "build_plan", counted)
    return built


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("{ merchantCategories { name } }", "planned"),
        ("query Named { merchantCategories { name } }", "planned"),
        ("{ __schema { queryType { name } } }", "graphql-core"),
        ("{ __typename merchantCategories { __typename } }", "planned"),
        ("{ _service { sdl } }", "graphql-core"),
        (
            'mutation { createCampaign(input: {name: "n", type: CASHBACK}) { userErrors { code } } }',
            "graphql-core",
        ),
    ],
)
async def test_extensions_say_which_executor_answered(gql, document: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    result = await gql(document, viewer=MARKETER)

    assert result.errors is None, result.errors
    assert result.extensions["executor"] == expected


async def test_a_plan_is_made_once_per_document_and_skip_values(gql, plans_built: list[Any]) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        shown = await gql(CAMPAIGNS, {"skip": False}, viewer=ADMIN)
    assert len(plans_built) == 1
    hidden = await gql(CAMPAIGNS, {"skip": True}, viewer=ADMIN)
    again = await gql(CAMPAIGNS, {"skip": True}, viewer=ADMIN)

    assert len(plans_built) == 2
    assert "totalCount" in shown.data["campaigns"]
    assert "totalCount" not in hidden.data["campaigns"] and "totalCount" not in again.data["campaigns"]


async def test_graphql_core_only_runs_everything_on_graphql_core(gql) -> None:  # type: ignore[no-untyped-def]
    with planned.graphql_core_only():
        result = await gql("{ merchantCategories { name } }", viewer=MARKETER)

    assert result.extensions["executor"] == "graphql-core"
