"""`campaigns`: the filtered, sorted campaign list, each filter on hand-made rows, and a merchant's view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from models.campaigns import Campaign
from tests.models import factories as f

ADMIN = Viewer(role=Role.ADMIN)
MARKETER = Viewer(role=Role.MARKETER)
ANALYST = Viewer(role=Role.ANALYST)
SERVICE = Viewer(role=Role.SERVICE)
CUSTOMER = Viewer(role=Role.CUSTOMER, user_id=1)

CAMPAIGNS = """
query ($filter: CampaignFilterInput, $sort: CampaignSortInput, $first: Int, $after: String) {
  campaigns(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { name } }
  }
}
"""
T = datetime(2024, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def merchant_viewer(merchant_id: int) -> Viewer:
    return Viewer(role=Role.MERCHANT, user_id=1, merchant_id=merchant_id)


def _gid(type_name: str, pk: int) -> str:
    return relay.to_base64(type_name, pk)


async def _campaign(db: AsyncSession, name: str, **o: Any) -> Campaign:
    """A campaign named `name`; any status but draft gets a schedule (the table requires one)."""
    if o.get("status", "draft") != "draft":
        o.setdefault("starts_at", T)
        o.setdefault("ends_at", T + 30 * DAY)
    return await f.make_campaign(db, name=name, **o)


async def _names(gql, filter: dict[str, Any] | None = None, viewer: Viewer = ANALYST) -> list[str]:  # type: ignore[no-untyped-def]
    result = await gql(CAMPAIGNS, {"filter": filter, "first": 100}, viewer=viewer)
    assert result.errors is None, result.errors
    return [edge["node"]["name"] for edge in result.data["campaigns"]["edges"]]


async def test_status_keeps_any_of_the_given_statuses(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a campaign in each of four statuses
    for status in ("draft", "running", "paused", "completed"):
        await _campaign(db, f"S-{status}", status=status)

    # when staff filter by one status, then by two
    running = await _names(gql, {"status": ["RUNNING"]})
    live = await _names(gql, {"status": ["RUNNING", "PAUSED"]}, viewer=MARKETER)

    # then only those statuses are listed
    assert running == ["S-running"]
    assert sorted(live) == ["S-paused", "S-running"]


async def test_type_keeps_any_of_the_given_types(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _campaign(db, "T-email", type="email_offer")
    await _campaign(db, "T-push", type="push_notification")
    await _campaign(db, "T-cash", type="cashback", cashback_percent=5)

    cashback = await _names(gql, {"type": ["CASHBACK"]})
    either = await _names(gql, {"type": ["CASHBACK", "PUSH_NOTIFICATION"]}, viewer=ADMIN)

    assert cashback == ["T-cash"]
    assert sorted(either) == ["T-cash", "T-push"]


async def test_merchant_id_keeps_that_merchants_campaigns(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given campaigns of two merchants and one of no merchant
    a, b = await f.make_merchant(db), await f.make_merchant(db)
    await _campaign(db, "M-a1", merchant_id=a.id)
    await _campaign(db, "M-a2", merchant_id=a.id)
    await _campaign(db, "M-b", merchant_id=b.id)
    await _campaign(db, "M-none")

    # when staff filter by each merchant
    of_a = await _names(gql, {"merchantId": _gid("Merchant", a.id)})
    of_b = await _names(gql, {"merchantId": _gid("Merchant", b.id)}, viewer=SERVICE)

    # then each gets that merchant's campaigns only
    assert sorted(of_a) == ["M-a1", "M-a2"]
    assert of_b == ["M-b"]


@pytest.mark.parametrize(
    "merchant_id", ["not-an-id", _gid("Campaign", 1)], ids=["undecodable", "campaign-id-as-merchant"]
)
async def test_a_merchant_id_that_is_not_one_is_bad_user_input(gql, merchant_id: str) -> None:  # type: ignore[no-untyped-def]
    result = await gql(CAMPAIGNS, {"filter": {"merchantId": merchant_id}}, viewer=ANALYST)

    assert result.data == {"campaigns": None}
    assert {e.extensions["code"] for e in result.errors} == {"BAD_USER_INPUT"}


async def _schedules(db: AsyncSession) -> None:
    """Three scheduled campaigns (June 1-10, June 5 - July 5, August) and an unscheduled draft."""
    await _campaign(db, "D-early", status="completed", starts_at=T, ends_at=T + 9 * DAY)
    await _campaign(db, "D-middle", status="running", starts_at=T + 4 * DAY, ends_at=T + 34 * DAY)
    await _campaign(db, "D-late", status="scheduled", starts_at=T + 61 * DAY, ends_at=T + 91 * DAY)
    await _campaign(db, "D-draft")


async def test_active_from_keeps_campaigns_still_running_at_or_after_it(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _schedules(db)

    after_early = await _names(gql, {"activeFrom": (T + 20 * DAY).isoformat()})
    at_early_end = await _names(gql, {"activeFrom": (T + 9 * DAY).isoformat()})

    assert sorted(after_early) == ["D-late", "D-middle"]
    # a campaign ending exactly then was running at that instant; drafts have no schedule
    assert sorted(at_early_end) == ["D-early", "D-late", "D-middle"]


async def test_active_to_keeps_campaigns_started_at_or_before_it(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _schedules(db)

    before_middle = await _names(gql, {"activeTo": (T + 2 * DAY).isoformat()})
    at_middle_start = await _names(gql, {"activeTo": (T + 4 * DAY).isoformat()})

    assert before_middle == ["D-early"]
    assert sorted(at_middle_start) == ["D-early", "D-middle"]


async def test_active_from_and_to_keep_campaigns_overlapping_the_range(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _schedules(db)

    july = await _names(
        gql, {"activeFrom": (T + 30 * DAY).isoformat(), "activeTo": (T + 60 * DAY).isoformat()}
    )
    june = await _names(gql, {"activeFrom": T.isoformat(), "activeTo": (T + 29 * DAY).isoformat()})

    assert july == ["D-middle"]
    assert sorted(june) == ["D-early", "D-middle"]


async def test_search_matches_words_of_the_name_or_the_description(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _campaign(db, "Summer Splash", description="Double points at the pool")
    await _campaign(db, "Winter Warmer", description="Free coffee with every purchase")
    await _campaign(db, "Autumn Leaves")

    by_name = await _names(gql, {"search": "splash"})
    by_description = await _names(gql, {"search": "COFFEE"})
    two_words = await _names(gql, {"search": "winter coffee"})
    unmatched = await _names(gql, {"search": "spring"})

    assert by_name == ["Summer Splash"]
    assert by_description == ["Winter Warmer"]
    assert two_words == ["Winter Warmer"]
    assert unmatched == []


async def test_search_text_with_query_syntax_is_not_an_error(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _campaign(db, "Plain")
    for text in ("!!!", "a:b & c", "'", "\\", '"unclosed', "-"):
        result = await gql(CAMPAIGNS, {"filter": {"search": text}}, viewer=ANALYST)
        assert result.errors is None, (text, result.errors)
    # a blank search filters nothing
    assert await _names(gql, {"search": "   "}) == ["Plain"]


async def test_filters_combine_and_total_count_counts_the_filtered_list(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given campaigns that each miss one of three filters
    merchant = await f.make_merchant(db)
    wanted = {"status": "running", "type": "cashback", "cashback_percent": 5, "merchant_id": merchant.id}
    await _campaign(db, "C-wanted", description="match", **wanted)
    await _campaign(db, "C-paused", description="match", **{**wanted, "status": "paused"})
    await _campaign(
        db, "C-email", description="match", **{**wanted, "type": "email_offer", "cashback_percent": None}
    )
    await _campaign(db, "C-other-words", description="nothing", **wanted)
    criteria = {
        "status": ["RUNNING"],
        "type": ["CASHBACK"],
        "merchantId": _gid("Merchant", merchant.id),
        "search": "match",
    }

    # when staff apply all of them, a page of one at a time
    result = await gql(CAMPAIGNS, {"filter": criteria, "first": 1}, viewer=ANALYST)

    # then only the campaign matching all is listed, and counted
    assert result.errors is None, result.errors
    page = result.data["campaigns"]
    assert [e["node"]["name"] for e in page["edges"]] == ["C-wanted"]
    assert page["totalCount"] == 1 and page["pageInfo"]["hasNextPage"] is False


async def test_newest_first_by_default_and_by_name_on_request(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    for day, name in enumerate(("Bravo", "Alpha", "Charlie")):
        await _campaign(db, name, created_at=T + day * DAY)

    newest = await gql(CAMPAIGNS, {"first": 100}, viewer=ANALYST)
    by_name = await gql(
        CAMPAIGNS, {"sort": {"field": "NAME", "descending": False}, "first": 2}, viewer=ANALYST
    )
    rest = await gql(
        CAMPAIGNS,
        {
            "sort": {"field": "NAME", "descending": False},
            "first": 2,
            "after": by_name.data["campaigns"]["pageInfo"]["endCursor"],
        },
        viewer=ANALYST,
    )

    assert [e["node"]["name"] for e in newest.data["campaigns"]["edges"]] == ["Charlie", "Alpha", "Bravo"]
    assert [e["node"]["name"] for e in by_name.data["campaigns"]["edges"]] == ["Alpha", "Bravo"]
    assert [e["node"]["name"] for e in rest.data["campaigns"]["edges"]] == ["Charlie"]


async def test_a_merchant_lists_only_its_own_campaigns(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given campaigns of two merchants and one of no merchant
    own, other = await f.make_merchant(db), await f.make_merchant(db)
    await _campaign(db, "Own running", status="running", merchant_id=own.id)
    await _campaign(db, "Own draft", merchant_id=own.id)
    await _campaign(db, "Other running", status="running", merchant_id=other.id)
    await _campaign(db, "Nobody's")
    viewer = merchant_viewer(own.id)

    # when the merchant lists campaigns, filters them, and asks for the other merchant's
    everything = await gql(CAMPAIGNS, {"first": 100}, viewer=viewer)
    running = await _names(gql, {"status": ["RUNNING"]}, viewer=viewer)
    others = await _names(gql, {"merchantId": _gid("Merchant", other.id)}, viewer=viewer)

    # then it sees its own only: filters narrow what it may see, never widen it
    page = everything.data["campaigns"]
    assert sorted(e["node"]["name"] for e in page["edges"]) == ["Own draft", "Own running"]
    assert page["totalCount"] == 2
    assert running == ["Own running"]
    assert others == []
    # staff see all four
    assert len(await _names(gql)) == 4


@pytest.mark.parametrize("viewer", [CUSTOMER, ANONYMOUS], ids=["customer", "anonymous"])
async def test_customers_and_anonymous_may_not_list_campaigns(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    await _campaign(db, "Hidden")

    result = await gql(CAMPAIGNS, {"first": 10}, viewer=viewer)

    assert result.data == {"campaigns": None}
    assert {e.extensions["code"] for e in result.errors} == {"FORBIDDEN"}
