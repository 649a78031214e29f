"""Free-text arguments of the read API have length and word limits, checked before any SQL.

A 480 KB `merchants(filter: {search})` used to hold a PostgreSQL backend for the whole statement
timeout (websearch_to_tsquery grows super-linearly with its input) and 200 KB failed with
`stack depth limit exceeded`; now such text is refused with BAD_USER_INPUT naming the limit.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from core.viewer import ANONYMOUS, Role, Viewer
from resolvers.text_inputs import MAX_FILTER_CHARS, MAX_KEY_CHARS, MAX_SEARCH_CHARS, MAX_SEARCH_WORDS
from tests.limits.support import codes, run
from tests.support import counting_on

ADMIN = Viewer(role=Role.ADMIN)
HUGE = "word " * 96_000  # 480 KB, as in the attack
MERCHANTS = "query M($f: MerchantFilterInput) { merchants(filter: $f) { edges { node { id } } } }"
CAMPAIGNS = "query C($f: CampaignFilterInput) { campaigns(filter: $f) { edges { node { id } } } }"
USERS = "query U($f: UserFilterInput) { users(filter: $f) { edges { node { id } } } }"
FLAG = "query F($key: String!) { flag(key: $key) { id } }"
EVALUATE = "query E($keys: [String!]) { evaluateFlags(context: {}, keys: $keys) { key } }"
PAGED_MERCHANTS = "query M($after: String) { merchants(after: $after) { edges { node { id } } } }"
PAGED_USERS = "query U($before: String) { users(last: 5, before: $before) { edges { node { id } } } }"
AUDIT = "query A($f: AuditLogFilterInput) { auditLog(filter: $f) { edges { node { action } } } }"

# (document, variables, viewer, the field the error names)
REFUSED = {
    "merchant search, 480 KB": (MERCHANTS, {"f": {"search": HUGE}}, ANONYMOUS, "filter.search"),
    "campaign search, 480 KB": (CAMPAIGNS, {"f": {"search": HUGE}}, ADMIN, "filter.search"),
    "user search, 480 KB": (USERS, {"f": {"search": HUGE}}, ADMIN, "filter.search"),
    "merchant search one character too long": (
        MERCHANTS,
        {"f": {"search": "a" * (MAX_SEARCH_CHARS + 1)}},
        ANONYMOUS,
        "filter.search",
    ),
    "merchant search of too many words": (
        MERCHANTS,
        {"f": {"search": " ".join(["ab"] * (MAX_SEARCH_WORDS + 1))}},
        ANONYMOUS,
        "filter.search",
    ),
    "merchant city, 480 KB": (MERCHANTS, {"f": {"city": HUGE}}, ANONYMOUS, "filter.city"),
    "flag key longer than any key": (FLAG, {"key": "k" * (MAX_KEY_CHARS + 1)}, ADMIN, "key"),
    "evaluateFlags key longer than any key": (
        EVALUATE,
        {"keys": ["k" * (MAX_KEY_CHARS + 1)]},
        ANONYMOUS,
        "keys",
    ),
    "audit action, 480 KB": (AUDIT, {"f": {"action": HUGE}}, ADMIN, "filter.action"),
    "merchant cursor, 480 KB": (PAGED_MERCHANTS, {"after": HUGE}, ANONYMOUS, "after"),
    "user cursor, 480 KB": (PAGED_USERS, {"before": HUGE}, ADMIN, "before"),
    "audit entity type too long": (
        AUDIT,
        {"f": {"entityType": "e" * (MAX_FILTER_CHARS + 1)}},
        ADMIN,
        "filter.entityType",
    ),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
async def test_oversized_text_is_refused_before_any_sql(
    case: tuple[str, dict[str, Any], Viewer, str], db: AsyncSession, settings: Settings
) -> None:
    document, variables, viewer, field = case
    # when the request arrives
    async with counting_on(db) as statements:
        result = await run(document, variables, db=db, settings=settings, viewer=viewer)
    # then it is refused as the caller's mistake, naming the field, and no SQL ran
    assert codes(result) == ["BAD_USER_INPUT"], result.errors
    error = result.errors[0]  # type: ignore[index]
    assert error.extensions["field"] == field  # type: ignore[index]
    assert "at most" in error.message or "NUL" in error.message
    assert statements == []


async def test_a_search_at_the_limits_runs(db: AsyncSession, settings: Settings) -> None:
    # given a search of exactly the most words and characters allowed
    words = ["abcdefghijklmnopq"[: MAX_SEARCH_CHARS // MAX_SEARCH_WORDS - 1]] * MAX_SEARCH_WORDS
    search = " ".join(words)
    assert len(search) <= MAX_SEARCH_CHARS
    # when the three searches run, then they are answered
    for document in (MERCHANTS, CAMPAIGNS, USERS):
        result = await run(document, {"f": {"search": search}}, db=db, settings=settings, viewer=ADMIN)
        assert result.errors is None


async def test_the_limit_is_in_the_message(db: AsyncSession, settings: Settings) -> None:
    result = await run(MERCHANTS, {"f": {"search": HUGE}}, db=db, settings=settings)
    message = result.errors[0].message  # type: ignore[index]
    assert f"at most {MAX_SEARCH_CHARS} characters" in message
