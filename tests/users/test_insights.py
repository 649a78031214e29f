"""Recommended merchants (by affinity) and the best send time of a user."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Role, Viewer
from tests.models import factories as f
from tests.support import codes
from tests.users.support import ADMIN, customer, gid

RECOMMENDED = """
query ($first: Int!) {
  me { recommendedMerchants(first: $first) { affinityScore merchant { id name } } }
}
"""
DEFAULT = "{ me { recommendedMerchants { merchant { name } } } }"
SEND_TIME = """
{ me { optimalSendTime {
  hour dayOfWeek confidence openRateMorning openRateAfternoon openRateEvening engagementScore calculatedAt
} } }
"""
OF_USER = """
query ($id: ID!) {
  user(id: $id) { recommendedMerchants(first: 1) { merchant { name } } optimalSendTime { hour } }
}
"""


async def _affinities(db: AsyncSession, user_id: int, scores: dict[str, float], **merchant: object) -> None:
    for name, score in scores.items():
        shop = await f.make_merchant(db, name=name, **merchant)
        await f.make_user_merchant_affinity(db, user_id=user_id, merchant_id=shop.id, affinity_score=score)


async def test_recommendations_best_first_limited_to_first(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given affinities to four merchants, the best of them inactive
    user = await f.make_user(db)
    await _affinities(db, user.id, {"Low": 0.2, "High": 0.9, "Mid": 0.5, "Lowest": 0.1})
    await _affinities(db, user.id, {"Closed": 0.99}, is_active=False)

    # when the customer asks for the top two
    result = await gql(RECOMMENDED, {"first": 2}, viewer=customer(user.id))

    # then the two best active merchants come back, best first, with their scores
    assert result.errors is None, result.errors
    found = result.data["me"]["recommendedMerchants"]
    assert [(r["merchant"]["name"], r["affinityScore"]) for r in found] == [("High", 0.9), ("Mid", 0.5)]


async def test_ten_recommendations_by_default(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db)
    await _affinities(db, user.id, {f"Shop {i:02}": i / 20 for i in range(12)})

    result = await gql(DEFAULT, viewer=customer(user.id))

    names = [r["merchant"]["name"] for r in result.data["me"]["recommendedMerchants"]]
    assert names == [f"Shop {i:02}" for i in range(11, 1, -1)]


async def test_first_out_of_range_is_bad_user_input(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db)
    for first in (-1, 101):
        result = await gql(RECOMMENDED, {"first": first}, viewer=customer(user.id))
        assert codes(result) == {"BAD_USER_INPUT"}
    none = await gql(RECOMMENDED, {"first": 0}, viewer=customer(user.id))
    assert none.data["me"]["recommendedMerchants"] == []


async def test_optimal_send_time(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db)
    row = await f.make_user_optimal_send_time(
        db,
        user_id=user.id,
        optimal_hour=19,
        optimal_day_of_week=0,
        confidence_score=0.8,
        open_rate_morning=0.1,
        open_rate_afternoon=0.2,
        open_rate_evening=0.6,
        engagement_score=0.7,
    )
    await db.refresh(row)

    result = await gql(SEND_TIME, viewer=customer(user.id))

    assert result.errors is None, result.errors
    assert result.data["me"]["optimalSendTime"] == {
        "hour": 19,
        "dayOfWeek": 0,
        "confidence": 0.8,
        "openRateMorning": 0.1,
        "openRateAfternoon": 0.2,
        "openRateEvening": 0.6,
        "engagementScore": 0.7,
        "calculatedAt": row.last_calculated_at.isoformat(),
    }


async def test_no_send_time_yet_is_null(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db)
    result = await gql(SEND_TIME, viewer=customer(user.id))
    assert result.errors is None and result.data["me"]["optimalSendTime"] is None


async def test_admin_reads_another_users_insights(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db)
    await _affinities(db, user.id, {"Fav": 0.9, "Meh": 0.3})
    await f.make_user_optimal_send_time(db, user_id=user.id, optimal_hour=7)

    result = await gql(OF_USER, {"id": gid("User", user.id)}, viewer=ADMIN)

    assert result.errors is None, result.errors
    assert result.data["user"] == {
        "recommendedMerchants": [{"merchant": {"name": "Fav"}}],
        "optimalSendTime": {"hour": 7},
    }


async def test_marketer_reads_own_insights_but_merchant_staff_may_not(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    marketer = await f.make_user(db, role="marketer")
    await f.make_user_optimal_send_time(db, user_id=marketer.id, optimal_hour=10)
    shop = await f.make_merchant(db)
    staff = await f.make_user(db, role="merchant", merchant_id=shop.id)

    allowed = await gql(SEND_TIME, viewer=Viewer(role=Role.MARKETER, user_id=marketer.id))
    refused = await gql(SEND_TIME, viewer=Viewer(role=Role.MERCHANT, user_id=staff.id, merchant_id=shop.id))

    assert allowed.errors is None and allowed.data["me"]["optimalSendTime"]["hour"] == 10
    assert refused.data["me"] == {"optimalSendTime": None} and codes(refused) == {"FORBIDDEN"}


async def test_one_users_recommendations_never_reach_another(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    me, other = await f.make_user(db), await f.make_user(db)
    await _affinities(db, other.id, {"Theirs": 0.9})

    result = await gql(RECOMMENDED, {"first": 5}, viewer=customer(me.id))

    assert result.data["me"]["recommendedMerchants"] == []
