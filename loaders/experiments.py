"""Experiment loaders."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loaders.base import Loader, many_per_key, one_per_key
from models.experiments import Experiment, ExperimentVariant


class ExperimentByIdLoader(Loader[int, Experiment | None]):
    async def load_batch(self, session: AsyncSession, keys: list[int]) -> list[Experiment | None]:
        rows = await session.scalars(select(Experiment).where(Experiment.id.in_(keys)))
        return one_per_key(keys, rows, lambda r: r.id)


class ExperimentsByCampaignLoader(Loader[int, list[Experiment]]):
    # ix_ab_tests_campaign_id
    async def load_batch(self, session: AsyncSession, keys: list[int]) -> list[list[Experiment]]:
        query = select(Experiment).where(Experiment.campaign_id.in_(keys)).order_by(Experiment.id)
        return many_per_key(keys, await session.scalars(query), lambda r: r.campaign_id)


class VariantsByExperimentLoader(Loader[int, list[ExperimentVariant]]):
    # uq_ab_test_variants_test_id_key leads with test_id; control first, then by key.
    async def load_batch(self, session: AsyncSession, keys: list[int]) -> list[list[ExperimentVariant]]:
        query = (
            select(ExperimentVariant)
            .where(ExperimentVariant.test_id.in_(keys))
            .order_by(ExperimentVariant.is_control.desc(), ExperimentVariant.key)
        )
        return many_per_key(keys, await session.scalars(query), lambda r: r.test_id)
