"""Depth, alias and token limits, introspection and suggestions: refused before execution."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import AppEnv, Settings
from tests.limits.support import codes, run

# users > edges > node > transactions > edges > node: six levels of selections.
SIX_DEEP = "{ users(first: 1) { edges { node { transactions(first: 1) { edges { node { id } } } } } } }"
FRAGMENT_ALIASES = """
query Twice { a: users(first: 1) { ...Counts } b: users(first: 1) { ...Counts } }
fragment Counts on UserConnection {
  t1: totalCount t2: totalCount t3: totalCount t4: totalCount t5: totalCount t6: totalCount t7: totalCount
}
"""
INTROSPECTION = "{ __schema { queryType { name } } }"
UNKNOWN_FIELD = "{ flagz }"
UNKNOWN_ENUM_VALUE = "{ topCampaigns(metric: ROA) { rank } }"


def _aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


def _messages(result: Any) -> list[str]:
    return [e.message for e in result.errors or []]


async def test_a_query_deeper_than_the_limit_is_refused(db: AsyncSession, settings: Settings) -> None:
    # given a depth limit of five, when a six-level query arrives
    result = await run(SIX_DEEP, db=db, settings=settings.model_copy(update={"graphql_max_depth": 5}))
    # then it is refused as too complex, before execution
    assert result.data is None
    assert codes(result) == ["QUERY_TOO_COMPLEX"]
    assert "exceeds maximum operation depth of 5" in result.errors[0].message  # type: ignore[index]


async def test_a_query_at_the_depth_limit_runs(db: AsyncSession, settings: Settings) -> None:
    result = await run(SIX_DEEP, db=db, settings=settings.model_copy(update={"graphql_max_depth": 6}))
    assert "QUERY_TOO_COMPLEX" not in codes(result)


async def test_sixteen_aliases_are_refused_by_default(db: AsyncSession, settings: Settings) -> None:
    # given the default limit of 15 aliases
    assert settings.graphql_max_aliases == 15
    # when 15 and then 16 aliases are asked for
    fifteen = await run(_aliases(15), db=db, settings=settings)
    sixteen = await run(_aliases(16), db=db, settings=settings)
    # then only the second is refused
    assert fifteen.errors is None
    assert codes(sixteen) == ["QUERY_TOO_COMPLEX"]
    assert _messages(sixteen) == ["16 aliases found. Allowed: 15"]


async def test_aliases_inside_a_fragment_count_at_every_spread(db: AsyncSession, settings: Settings) -> None:
    # given a fragment of 7 aliases spread twice (2 + 7 + 7 = 16 aliases)
    result = await run(FRAGMENT_ALIASES, db=db, settings=settings)
    # then the document is over the limit of 15
    assert codes(result) == ["QUERY_TOO_COMPLEX"]
    assert _messages(result) == ["16 aliases found. Allowed: 15"]


async def test_a_document_of_too_many_tokens_is_refused(db: AsyncSession, settings: Settings) -> None:
    # given the default token limit, when a document has more tokens than that
    document = "{ " + "__typename " * settings.graphql_max_tokens + "}"
    result = await run(document, db=db, settings=settings)
    # then it is refused as too complex (parsing stops at the limit)
    assert codes(result) == ["QUERY_TOO_COMPLEX"]
    assert f"more than {settings.graphql_max_tokens} tokens" in _messages(result)[0]


async def test_a_syntax_error_carries_a_code(db: AsyncSession, settings: Settings) -> None:
    result = await run("{ flags(first: ", db=db, settings=settings)
    assert codes(result) == ["GRAPHQL_PARSE_FAILED"]
    assert result.errors[0].extensions["requestId"] == "limits-test"  # type: ignore[index]


async def test_introspection_is_off_in_production(db: AsyncSession, settings: Settings) -> None:
    production = settings.model_copy(update={"app_env": AppEnv.PRODUCTION})
    # when production is asked for the schema, then it is refused; __typename still works
    refused = await run(INTROSPECTION, db=db, settings=production)
    typename = await run("{ __typename }", db=db, settings=production)
    assert refused.data is None
    assert set(codes(refused)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "introspection has been disabled" in _messages(refused)[0]
    assert typename.data == {"__typename": "Query"}


async def test_introspection_can_be_enabled_in_production(db: AsyncSession, settings: Settings) -> None:
    enabled = settings.model_copy(update={"app_env": AppEnv.PRODUCTION, "introspection": True})
    result = await run(INTROSPECTION, db=db, settings=enabled)
    assert result.errors is None
    assert result.data == {"__schema": {"queryType": {"name": "Query"}}}


async def test_introspection_is_on_in_development(db: AsyncSession, settings: Settings) -> None:
    development = settings.model_copy(update={"app_env": AppEnv.DEVELOPMENT})
    result = await run(INTROSPECTION, db=db, settings=development)
    assert result.errors is None


async def test_production_gives_no_suggestions(db: AsyncSession, settings: Settings) -> None:
    production = settings.model_copy(update={"app_env": AppEnv.PRODUCTION})
    # when production is sent an unknown field and an unknown enum value
    field = await run(UNKNOWN_FIELD, db=db, settings=production)
    enum = await run(UNKNOWN_ENUM_VALUE, db=db, settings=production)
    # then the errors name the mistake but suggest nothing
    assert _messages(field) == ["Cannot query field 'flagz' on type 'Query'."]
    assert _messages(enum) == ["Value 'ROA' does not exist in 'CampaignMetric' enum."]
    assert codes(field) == codes(enum) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_development_keeps_suggestions(db: AsyncSession, settings: Settings) -> None:
    result = await run(UNKNOWN_FIELD, db=db, settings=settings)
    assert "Did you mean 'flag' or 'flags'?" in _messages(result)[0]
