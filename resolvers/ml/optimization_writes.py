"""Campaign optimisation advice (marketers, admins): recommendations and when they were put in place,
each change audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.campaigns import Campaign
from models.ml import CampaignOptimization, Effort, RecommendationType
from resolvers.audit import Actor, record_change, snapshot
from resolvers.outcomes import Outcome, ProblemCode, Problems


@dataclass(frozen=True, slots=True)
class OptimizationFields:
    campaign_id: int
    recommendation_type: RecommendationType
    recommendation_text: str
    confidence_score: float
    potential_uplift_percent: float | None = None
    implementation_effort: Effort | None = None
    priority: int = 5


async def create_optimization(
    *, session: AsyncSession, actor: Actor, data: OptimizationFields
) -> Outcome[CampaignOptimization]:
    """Record a recommendation for a campaign."""
    problems = Problems()
    problems.require_length("recommendation_text", data.recommendation_text, max_length=5000, required=True)
    problems.require_range("confidence_score", data.confidence_score, low=0, high=1)
    problems.require_range("potential_uplift_percent", data.potential_uplift_percent, low=-100, high=1000)
    problems.require_range("priority", data.priority, low=1, high=10)
    if await session.get(Campaign, data.campaign_id) is None:
        problems.add("campaign_id", "No such campaign.", ProblemCode.NOT_FOUND)
    if problems:
        return Outcome.refused(problems)
    effort = data.implementation_effort
    row = CampaignOptimization(
        **asdict(data),
        created_by_id=actor.viewer.user_id,
    )
    row.recommendation_type = data.recommendation_type.value
    row.implementation_effort = None if effort is None else effort.value
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await record_change(
        session,
        actor=actor,
        action="campaign_optimization.create",
        entity_type="campaign_optimization",
        entity_id=row.id,
        after=snapshot(row),
    )
    return Outcome(value=row, ref=("CampaignOptimization", row.id))


async def mark_implemented(
    *, session: AsyncSession, actor: Actor, optimization_id: int, now: dt.datetime
) -> Outcome[CampaignOptimization]:
    """Record that a recommendation was put in place; doing it again changes nothing."""
    row = await session.scalar(
        select(CampaignOptimization).where(CampaignOptimization.id == optimization_id).with_for_update()
    )
    if row is None:
        return Outcome.one_problem("id", "No such optimization.", ProblemCode.NOT_FOUND)
    if not row.implemented:
        before = snapshot(row)
        await session.execute(
            update(CampaignOptimization)
            .where(CampaignOptimization.id == optimization_id)
            .values(implemented=True, implemented_at=now)
        )
        await session.refresh(row)
        await record_change(
            session,
            actor=actor,
            action="campaign_optimization.implement",
            entity_type="campaign_optimization",
            entity_id=row.id,
            before=before,
            after=snapshot(row),
        )
    return Outcome(value=row, ref=("CampaignOptimization", row.id))
