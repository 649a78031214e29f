"""Helpers of the analytics tests: viewers, ids, ranges, statement counting and hand-made metric rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import Role, Viewer
from models.campaigns import Campaign
from tests.models import factories as f

ADMIN = Viewer(role=Role.ADMIN, user_id=1)
ANALYST = Viewer(role=Role.ANALYST, user_id=1)
SERVICE = Viewer(role=Role.SERVICE)
CUSTOMER = Viewer(role=Role.CUSTOMER, user_id=1)
LIVE_FROM = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
LIVE_TO = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def merchant_viewer(merchant_id: int) -> Viewer:
    return Viewer(role=Role.MERCHANT, user_id=1, merchant_id=merchant_id)


def campaign_gid(campaign_id: int) -> str:
    return relay.to_base64("Campaign", campaign_id)


def date_range(start: dt.date, end: dt.date) -> dict[str, str]:
    return {"start": start.isoformat(), "end": end.isoformat()}


async def running_campaign(db: AsyncSession, **o: Any) -> Campaign:
    """A running campaign scheduled around every date the tests use."""
    return await f.make_campaign(db, **{"status": "running", "starts_at": LIVE_FROM, "ends_at": LIVE_TO, **o})


async def days(
    db: AsyncSession, campaign_id: int, rows: dict[dt.date, tuple[int, int, int, str, str]]
) -> None:
    """Daily rows: day -> (impressions, clicks, conversions, revenue, spend)."""
    for day, (imp, clk, conv, rev, spend) in rows.items():
        await f.make_campaign_daily(
            db,
            campaign_id=campaign_id,
            date=day,
            impressions=imp,
            clicks=clk,
            conversions=conv,
            revenue=Decimal(rev),
            spend=Decimal(spend),
        )
