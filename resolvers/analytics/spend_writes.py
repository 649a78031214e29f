"""Campaign spend: money spent on a campaign per UTC day, set or added to by staff and services.

Spend is money, so every change is audited, and writers of one campaign are serialised so the audit's
`before` is exact.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.changes import wrote_keys
from models.analytics import CampaignDailyMetrics
from models.campaigns import Campaign, CampaignStatus
from resolvers.analytics.events import CENT
from resolvers.audit import Actor, record_change
from resolvers.outcomes import Outcome, ProblemCode, Problems


class SpendMode(StrEnum):
    SET = "set"
    ADD = "add"


MAX_SPEND = Decimal("9999999999.99")  # NUMERIC(12,2)


async def record_campaign_spend(
    *,
    session: AsyncSession,
    actor: Actor,
    campaign_id: int,
    day: dt.date,
    amount: Decimal,
    mode: SpendMode,
    today: dt.date,
) -> Outcome[CampaignDailyMetrics]:
    """Set or add to a campaign's spend of one UTC day, with an audit row (spend is money)."""
    problems = Problems()
    if not amount.is_finite() or amount != amount.quantize(CENT):
        problems.add("amount", "An amount with at most 2 decimals.")
    else:
        problems.require_range("amount", amount, low=Decimal(0), high=MAX_SPEND)
    if day > today:
        problems.add("date", "Spend is recorded for today or earlier (UTC).", ProblemCode.OUT_OF_RANGE)
    # FOR NO KEY UPDATE serialises spend writers of one campaign (so `before` is exact) without
    # waiting for event batches, whose FOR KEY SHARE it does not conflict with.
    status = await session.scalar(
        select(Campaign.status).where(Campaign.id == campaign_id).with_for_update(key_share=True)
    )
    if status is None:
        problems.add("campaign_id", "No such campaign.", ProblemCode.NOT_FOUND)
    elif status == CampaignStatus.ARCHIVED.value:
        problems.add("campaign_id", "An archived campaign is closed history.", ProblemCode.INVALID)
    if problems:
        return Outcome.refused(problems)
    d = CampaignDailyMetrics
    before = await session.scalar(select(d.spend).where(d.campaign_id == campaign_id, d.date == day))
    spend = amount if mode is SpendMode.SET else (before or Decimal(0)) + amount
    if spend > MAX_SPEND:
        return Outcome.one_problem(
            "amount", f"The day's spend would exceed {MAX_SPEND}.", ProblemCode.OUT_OF_RANGE
        )
    row = await session.scalar(
        pg_insert(d)
        .values(campaign_id=campaign_id, date=day, spend=spend)
        .on_conflict_do_update(index_elements=[d.campaign_id, d.date], set_={"spend": spend})
        .returning(d),
        execution_options={"populate_existing": True},
    )
    assert row is not None
    wrote_keys(session, d.__tablename__, "campaign_id", [campaign_id])
    await record_change(
        session,
        actor=actor,
        action="campaign.spend",
        entity_type="campaign",
        entity_id=campaign_id,
        before={"date": day.isoformat(), "spend": None if before is None else str(before)},
        after={"date": day.isoformat(), "spend": str(row.spend), "mode": mode.value, "amount": str(amount)},
    )
    return Outcome(value=row, ref=("CampaignDailyMetrics", row.id))
