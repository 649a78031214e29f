"""Each merchants-domain loader serves several keys with one statement, in key order, visibility applied."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from core.viewer import ANONYMOUS, Role, Viewer
from loaders.merchants import MerchantByIdLoader, MerchantCategoryByIdLoader, PartnershipByMerchantLoader
from tests.merchants.support import ANALYST, CUSTOMER
from tests.models import factories as f
from tests.support import load_counted


def _ids(rows: list) -> list[int | None]:  # type: ignore[type-arg]
    return [None if r is None else r.id for r in rows]


def _merchant_ids(rows: list) -> list[int | None]:  # type: ignore[type-arg]
    return [None if r is None else r.merchant_id for r in rows]


async def test_merchants_by_id_in_key_order_inactive_ones_included(
    db: AsyncSession, settings: Settings
) -> None:
    # given an active and a deactivated merchant
    a = await f.make_merchant(db)
    b = await f.make_merchant(db, is_active=False)
    keys = [b.id, f.MISSING_ID, a.id]

    # when anyone loads them with an unknown id between them
    rows, statements = await load_counted(db, settings, MerchantByIdLoader, keys, viewer=ANONYMOUS)

    # then one statement answers, in key order; profiles are public, deactivated ones too
    assert len(statements) == 1
    assert _ids(rows) == [b.id, None, a.id]


async def test_categories_by_id_in_key_order_retired_ones_included(
    db: AsyncSession, settings: Settings
) -> None:
    a = await f.make_merchant_category(db)
    b = await f.make_merchant_category(db, is_active=False)

    rows, statements = await load_counted(
        db, settings, MerchantCategoryByIdLoader, [b.id, a.id, f.MISSING_ID], viewer=CUSTOMER
    )

    assert len(statements) == 1
    assert _ids(rows) == [b.id, a.id, None]


async def test_partnerships_by_merchant_in_key_order_for_staff_and_the_own_merchant(
    db: AsyncSession, settings: Settings
) -> None:
    # given two merchants with terms and one without
    a, b = await f.make_preferred_merchant(db), await f.make_preferred_merchant(db)
    without = await f.make_merchant(db)
    keys = [b.merchant_id, without.id, a.merchant_id]
    own_staff = Viewer(role=Role.MERCHANT, user_id=1, merchant_id=a.merchant_id)

    # when staff, merchant a's staff and a customer load the three merchants' terms
    staff, statements = await load_counted(db, settings, PartnershipByMerchantLoader, keys, viewer=ANALYST)
    own, _ = await load_counted(db, settings, PartnershipByMerchantLoader, keys, viewer=own_staff)
    customer, _ = await load_counted(db, settings, PartnershipByMerchantLoader, keys, viewer=CUSTOMER)

    # then one statement, by merchant in key order; a merchant sees its own terms only, a customer none
    # (the rows carry the terms the Partnership type reads, and the merchant they belong to)
    assert len(statements) == 1
    assert _merchant_ids(staff) == [b.merchant_id, None, a.merchant_id]
    assert _merchant_ids(own) == [None, None, a.merchant_id]
    assert _merchant_ids(customer) == [None, None, None]
