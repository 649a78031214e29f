"""Each campaign loader serves several keys with one statement, in key order, visibility applied."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from core.viewer import Role, Viewer
from loaders.campaigns import CampaignByIdLoader, OptimizationsByCampaignLoader
from tests.merchants.support import ANALYST, CUSTOMER, SERVICE
from tests.models import factories as f
from tests.support import load_counted


def _ids(rows: list) -> list[int | None]:  # type: ignore[type-arg]
    return [None if r is None else r.id for r in rows]


async def test_campaigns_by_id_in_key_order_own_only_for_merchants(
    db: AsyncSession, settings: Settings
) -> None:
    # given a merchant's campaign and another one
    merchant = await f.make_merchant(db)
    own = await f.make_campaign(db, merchant_id=merchant.id)
    other = await f.make_campaign(db)
    keys = [other.id, f.MISSING_ID, own.id]
    merchant_staff = Viewer(role=Role.MERCHANT, user_id=1, merchant_id=merchant.id)

    # when staff, a service, the merchant's staff and a customer load them
    staff, statements = await load_counted(db, settings, CampaignByIdLoader, keys, viewer=ANALYST)
    service, _ = await load_counted(db, settings, CampaignByIdLoader, keys, viewer=SERVICE)
    theirs, _ = await load_counted(db, settings, CampaignByIdLoader, keys, viewer=merchant_staff)
    customer, _ = await load_counted(db, settings, CampaignByIdLoader, keys, viewer=CUSTOMER)

    # then one statement in key order; merchants see their own campaigns only, customers none
    assert len(statements) == 1
    assert _ids(staff) == _ids(service) == [other.id, None, own.id]
    assert _ids(theirs) == [None, None, own.id]
    assert _ids(customer) == [None, None, None]


async def test_optimizations_by_campaign_most_urgent_first(db: AsyncSession, settings: Settings) -> None:
    # given two campaigns with advice of several priorities, and one without
    merchant = await f.make_merchant(db)
    own = await f.make_campaign(db, merchant_id=merchant.id)
    other, empty = await f.make_campaign(db), await f.make_campaign(db)
    low = await f.make_campaign_optimization(db, campaign_id=own.id, priority=7)
    urgent = await f.make_campaign_optimization(db, campaign_id=own.id, priority=1)
    also_low = await f.make_campaign_optimization(db, campaign_id=own.id, priority=7)
    elsewhere = await f.make_campaign_optimization(db, campaign_id=other.id)
    keys = [other.id, empty.id, own.id]
    merchant_staff = Viewer(role=Role.MERCHANT, user_id=1, merchant_id=merchant.id)

    # when staff and the merchant's staff load the three campaigns' advice
    staff, statements = await load_counted(db, settings, OptimizationsByCampaignLoader, keys, viewer=ANALYST)
    theirs, _ = await load_counted(db, settings, OptimizationsByCampaignLoader, keys, viewer=merchant_staff)

    # then one statement, grouped in key order, most urgent first (ties oldest first)
    assert len(statements) == 1
    assert [_ids(group) for group in staff] == [[elsewhere.id], [], [urgent.id, low.id, also_low.id]]
    assert [_ids(group) for group in theirs] == [[], [], [urgent.id, low.id, also_low.id]]
