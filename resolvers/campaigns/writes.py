"""Campaign writes: create, update, lifecycle transitions, delete (drafts only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.campaigns import Campaign, CampaignStatus, CampaignType
from models.merchants import Merchant
from resolvers.audit import Actor, record_change, snapshot
from resolvers.notifications import campaign_sends
from resolvers.outcomes import Outcome, ProblemCode, Problems

S = CampaignStatus
# The lifecycle. Completed and archived are final for running: a finished campaign never runs again.
TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    S.DRAFT: frozenset({S.SCHEDULED, S.RUNNING, S.ARCHIVED}),
    S.SCHEDULED: frozenset({S.DRAFT, S.RUNNING, S.ARCHIVED}),
    S.RUNNING: frozenset({S.PAUSED, S.COMPLETED}),
    S.PAUSED: frozenset({S.RUNNING, S.COMPLETED}),
    S.COMPLETED: frozenset({S.ARCHIVED}),
    S.ARCHIVED: frozenset(),
}
EDITABLE = frozenset({S.DRAFT, S.SCHEDULED, S.RUNNING, S.PAUSED})
MAX_BUDGET = Decimal("9999999999.99")  # NUMERIC(12,2)
NAME_MAX, DESCRIPTION_MAX, SEGMENT_MAX = 200, 5000, 100
ENTITY = "campaign"


@dataclass(frozen=True, slots=True)
class CampaignFields:
    """Writable fields; on update, None means "leave unchanged"."""

    name: str | None = None
    description: str | None = None
    type: CampaignType | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    budget: Decimal | None = None
    cashback_percent: Decimal | None = None
    merchant_id: int | None = None
    target_segment: str | None = None
    send_at_once: bool | None = None


def _validate(values: dict[str, Any], problems: Problems) -> None:
    problems.require_length("name", values.get("name"), max_length=NAME_MAX, required=True)
    problems.require_length("description", values.get("description"), max_length=DESCRIPTION_MAX)
    problems.require_length("target_segment", values.get("target_segment"), max_length=SEGMENT_MAX)
    problems.require_range("budget", values.get("budget"), low=Decimal(0), high=MAX_BUDGET)
    problems.require_range(
        "cashback_percent", values.get("cashback_percent"), low=Decimal(0), high=Decimal(100)
    )
    starts, ends = values.get("starts_at"), values.get("ends_at")
    if starts is not None and ends is not None and starts >= ends:
        problems.add("ends_at", "The end must be after the start.", ProblemCode.INVALID)
    if values.get("cashback_percent") is not None and values.get("type") != CampaignType.CASHBACK.value:
        problems.add("cashback_percent", "Only CASHBACK campaigns have a cashback percentage.")
    if values.get("status", S.DRAFT.value) != S.DRAFT.value and (starts is None or ends is None):
        problems.add("starts_at", "Only a draft may be without start and end.", ProblemCode.REQUIRED)


async def _check_merchant(session: AsyncSession, merchant_id: int | None, problems: Problems) -> None:
    if merchant_id is not None and await session.get(Merchant, merchant_id) is None:
        problems.add("merchant_id", "No such merchant.", ProblemCode.NOT_FOUND)


async def create_campaign(*, session: AsyncSession, actor: Actor, data: CampaignFields) -> Outcome[Campaign]:
    """Create a draft campaign."""
    values = {f.name: getattr(data, f.name) for f in fields(data) if getattr(data, f.name) is not None}
    if "type" in values:
        values["type"] = values["type"].value
    problems = Problems()
    if data.type is None:
        problems.add("type", "Required.", ProblemCode.REQUIRED)
    _validate(values, problems)
    await _check_merchant(session, data.merchant_id, problems)
    if problems:
        return Outcome.refused(problems)
    campaign = Campaign(**values, status=S.DRAFT.value, created_by_id=actor.viewer.user_id)
    session.add(campaign)
    await session.flush()
    await session.refresh(campaign)
    await record_change(
        session,
        actor=actor,
        action="campaign.create",
        entity_type=ENTITY,
        entity_id=campaign.id,
        after=snapshot(campaign),
    )
    return Outcome(value=campaign, ref=("Campaign", campaign.id))


async def _locked(session: AsyncSession, campaign_id: int) -> Campaign | None:
    # FOR UPDATE: two concurrent edits of one campaign apply one after the other, none is lost.
    return await session.scalar(select(Campaign).where(Campaign.id == campaign_id).with_for_update())


async def update_campaign(
    *, session: AsyncSession, actor: Actor, campaign_id: int, data: CampaignFields
) -> Outcome[Campaign]:
    """Change the given fields of a campaign that has not finished."""
    campaign = await _locked(session, campaign_id)
    if campaign is None:
        return Outcome.one_problem("id", "No such campaign.", ProblemCode.NOT_FOUND)
    if S(campaign.status) not in EDITABLE:
        return Outcome.one_problem(
            "id", f"A {campaign.status} campaign cannot be edited.", ProblemCode.INVALID_TRANSITION
        )
    before = snapshot(campaign)
    changes = {f.name: getattr(data, f.name) for f in fields(data) if getattr(data, f.name) is not None}
    if "type" in changes:
        changes["type"] = changes["type"].value
    current = {f.name: getattr(campaign, f.name) for f in fields(CampaignFields)}
    merged = {**current, "status": campaign.status, **changes}
    problems = Problems()
    _validate(merged, problems)
    await _check_merchant(session, changes.get("merchant_id"), problems)
    if problems:
        return Outcome.refused(problems)
    for key, value in changes.items():
        setattr(campaign, key, value)
    await session.flush()
    await session.refresh(campaign)
    await record_change(
        session,
        actor=actor,
        action="campaign.update",
        entity_type=ENTITY,
        entity_id=campaign.id,
        before=before,
        after=snapshot(campaign),
    )
    return Outcome(value=campaign, ref=("Campaign", campaign.id))


async def transition_campaign(
    *, session: AsyncSession, actor: Actor, campaign_id: int, target: CampaignStatus, now: dt.datetime
) -> Outcome[Campaign]:
    """Move a campaign along its lifecycle, refusing moves the state machine does not allow."""
    campaign = await _locked(session, campaign_id)
    if campaign is None:
        return Outcome.one_problem("id", "No such campaign.", ProblemCode.NOT_FOUND)
    current = S(campaign.status)
    if target not in TRANSITIONS[current]:
        return Outcome.one_problem(
            "id", f"A {current.value} campaign cannot become {target.value}.", ProblemCode.INVALID_TRANSITION
        )
    problems = Problems()
    if target in (S.SCHEDULED, S.RUNNING) and (campaign.starts_at is None or campaign.ends_at is None):
        problems.add("starts_at", "Set the start and end first.", ProblemCode.REQUIRED)
    elif target is S.ARCHIVED and (campaign.starts_at is None or campaign.ends_at is None):
        # Only a draft may lack its schedule (ck_campaigns_scheduled_unless_draft): one without is deleted.
        message = "A draft without a schedule is deleted, not archived."
        problems.add("id", message, ProblemCode.INVALID_TRANSITION)
    elif target is S.SCHEDULED and campaign.starts_at is not None and campaign.starts_at <= now:
        problems.add("starts_at", "A scheduled campaign must start in the future.", ProblemCode.OUT_OF_RANGE)
    elif target is S.RUNNING and campaign.ends_at is not None and campaign.ends_at <= now:
        problems.add("ends_at", "The campaign has already ended.", ProblemCode.OUT_OF_RANGE)
    if problems:
        return Outcome.refused(problems)
    before = snapshot(campaign)
    campaign.status = target.value
    await session.flush()
    await session.refresh(campaign)
    # Push and e-mail campaigns send (or stop sending) with the transition, in its transaction.
    await campaign_sends.on_status_change(session, campaign, now)
    await record_change(
        session,
        actor=actor,
        action=f"campaign.{target.value}",
        entity_type=ENTITY,
        entity_id=campaign.id,
        before=before,
        after=snapshot(campaign),
    )
    return Outcome(value=campaign, ref=("Campaign", campaign.id))


async def delete_campaign(*, session: AsyncSession, actor: Actor, campaign_id: int) -> Outcome[int]:
    """Delete a draft (anything further is archived instead, to keep its history)."""
    campaign = await _locked(session, campaign_id)
    if campaign is None:
        return Outcome.one_problem("id", "No such campaign.", ProblemCode.NOT_FOUND)
    if campaign.status != S.DRAFT.value:
        return Outcome.one_problem(
            "id", "Only drafts can be deleted; archive it instead.", ProblemCode.INVALID_TRANSITION
        )
    before = snapshot(campaign)
    await session.execute(delete(Campaign).where(Campaign.id == campaign_id))
    await record_change(
        session,
        actor=actor,
        action="campaign.delete",
        entity_type=ENTITY,
        entity_id=campaign_id,
        before=before,
    )
    return Outcome(value=campaign_id, ref=("Campaign", campaign_id))
