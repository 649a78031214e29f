"""Each ML loader serves several keys with one statement, in key order, visibility applied."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from core.viewer import Role, Viewer
from loaders.ml import ActiveMlModelByTypeLoader, CampaignOptimizationByIdLoader, MlModelByIdLoader
from tests.merchants.support import ANALYST, CUSTOMER, SERVICE
from tests.models import factories as f
from tests.support import load_counted


def _ids(rows: list) -> list[int | None]:  # type: ignore[type-arg]
    return [None if r is None else r.id for r in rows]


async def test_model_versions_by_id_in_key_order(db: AsyncSession, settings: Settings) -> None:
    a = await f.make_ml_model(db)
    b = await f.make_ml_model(db, status="deprecated")

    rows, statements = await load_counted(
        db, settings, MlModelByIdLoader, [b.id, f.MISSING_ID, a.id], viewer=SERVICE
    )

    assert len(statements) == 1
    assert _ids(rows) == [b.id, None, a.id]


async def test_the_active_version_of_each_type_in_key_order(db: AsyncSession, settings: Settings) -> None:
    await f.make_ml_model(db, model_type="churn", status="deprecated")
    churn = await f.make_ml_model(db, model_type="churn", status="active")
    conversion = await f.make_ml_model(db, model_type="conversion", status="active")
    await f.make_ml_model(db, model_type="offer", status="training")

    rows, statements = await load_counted(
        db, settings, ActiveMlModelByTypeLoader, ["offer", "conversion", "churn"], viewer=SERVICE
    )

    assert len(statements) == 1
    assert _ids(rows) == [None, conversion.id, churn.id]


async def test_optimizations_by_id_in_key_order_as_visible_as_their_campaign(
    db: AsyncSession, settings: Settings
) -> None:
    # given advice on a merchant's campaign and on another campaign
    merchant = await f.make_merchant(db)
    own = await f.make_campaign_optimization(
        db, campaign_id=(await f.make_campaign(db, merchant_id=merchant.id)).id
    )
    other = await f.make_campaign_optimization(db)
    keys = [other.id, f.MISSING_ID, own.id]
    merchant_staff = Viewer(role=Role.MERCHANT, user_id=1, merchant_id=merchant.id)

    # when staff, the merchant's staff and a customer load them
    staff, statements = await load_counted(db, settings, CampaignOptimizationByIdLoader, keys, viewer=ANALYST)
    theirs, _ = await load_counted(db, settings, CampaignOptimizationByIdLoader, keys, viewer=merchant_staff)
    customer, _ = await load_counted(db, settings, CampaignOptimizationByIdLoader, keys, viewer=CUSTOMER)

    # then one statement in key order; the merchant sees its campaign's advice only, a customer none
    assert len(statements) == 1
    assert _ids(staff) == [other.id, None, own.id]
    assert _ids(theirs) == [None, None, own.id]
    assert _ids(customer) == [None, None, None]
