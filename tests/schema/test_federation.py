"""The federation entry point (`_entities`) applies the same type policy and visibility as node(id)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from tests.models import factories as f

ENTITIES = """
query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on Campaign { id name } } }
"""


def _rep(campaign_id: int) -> dict[str, str]:
    return {"__typename": "Campaign", "id": relay.to_base64("Campaign", campaign_id)}


async def test_entities_resolve_for_an_allowed_viewer(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await f.make_campaign(db)
    result = await gql(ENTITIES, {"reps": [_rep(campaign.id)]}, viewer=Viewer(role=Role.ADMIN, user_id=1))
    assert result.errors is None
    assert result.data["_entities"] == [
        {"id": relay.to_base64("Campaign", campaign.id), "name": campaign.name}
    ]


async def test_entities_refuse_a_type_the_viewer_may_not_see(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await f.make_campaign(db)
    result = await gql(ENTITIES, {"reps": [_rep(campaign.id)]}, viewer=ANONYMOUS)
    assert result.data["_entities"] == [None]
    assert result.errors[0].extensions["code"] == "FORBIDDEN"


async def test_entities_hide_another_merchants_campaign(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    other = await f.make_campaign(db, merchant_id=(await f.make_merchant(db)).id)
    merchant = await f.make_merchant(db)
    viewer = Viewer(role=Role.MERCHANT, user_id=1, merchant_id=merchant.id)
    result = await gql(ENTITIES, {"reps": [_rep(other.id)]}, viewer=viewer)
    assert result.errors is None
    assert result.data["_entities"] == [None]
