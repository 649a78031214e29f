"""Rows carry only the columns their GraphQL type reads: each loader and each root list selects its
type's column tuple (one definition beside the loaders), so a wide row is never fetched to read a few."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from loaders import admin, analytics, campaigns, experiments, flags, merchants, ml, users
from resolvers.admin import reads as admin_reads
from resolvers.campaigns import reads as campaign_reads
from resolvers.experiments import reads as experiment_reads
from resolvers.flags import reads as flag_reads
from resolvers.merchants import reads as merchant_reads
from resolvers.pagination import PageRequest
from resolvers.users import reads as user_reads
from schema.admin.types import Setting
from schema.analytics.types import MetricDay
from schema.campaigns.types import Campaign
from schema.experiments.types import Experiment, Variant
from schema.flags.audit_types import FlagAuditEntry
from schema.flags.types import FeatureFlag, FlagRollout
from schema.flags.usage_types import FlagUsageDay
from schema.merchants.types import Merchant, MerchantCategory, Partnership
from schema.ml.types import CampaignOptimization, MlModel
from schema.users.insight_types import OptimalSendTime
from schema.users.types import User
from schema.users.wallet_types import Account, RewardEntry, Transaction
from tests.schema.read_world import README_DAYS, World, build_world, entities_loaded
from tests.support import context


@pytest.fixture
async def world(db: AsyncSession) -> World:
    return await build_world(db)


def _shapes() -> list[tuple[type, tuple[Any, ...], Callable[[dict[str, int]], Any], Callable[[Any], Any]]]:
    """Each loader returning rows, the columns its type reads, the key of a world row it finds, and
    what turns a row into its GraphQL type."""
    days = README_DAYS
    return [
        (
            campaigns.CampaignByIdLoader,
            campaigns.CAMPAIGN_COLUMNS,
            lambda p: p["Campaign"],
            Campaign.from_row,
        ),
        (
            campaigns.OptimizationsByCampaignLoader,
            ml.OPTIMIZATION_COLUMNS,
            lambda p: p["Campaign"],
            CampaignOptimization.from_row,
        ),
        (
            ml.CampaignOptimizationByIdLoader,
            ml.OPTIMIZATION_COLUMNS,
            lambda p: p["CampaignOptimization"],
            CampaignOptimization.from_row,
        ),
        (ml.MlModelByIdLoader, ml.ML_MODEL_COLUMNS, lambda p: p["MlModel"], MlModel.from_row),
        (
            analytics.DailyMetricsByIdLoader,
            analytics.METRIC_DAY_COLUMNS,
            lambda p: p["MetricDay"],
            MetricDay.from_row,
        ),
        (
            analytics.DailyMetricsByCampaignLoader,
            analytics.METRIC_DAY_COLUMNS,
            lambda p: (p["Campaign"], *days),
            MetricDay.from_row,
        ),
        (
            merchants.MerchantByIdLoader,
            merchants.MERCHANT_COLUMNS,
            lambda p: p["Merchant"],
            Merchant.from_row,
        ),
        (
            merchants.MerchantCategoryByIdLoader,
            merchants.CATEGORY_COLUMNS,
            lambda p: p["MerchantCategory"],
            MerchantCategory.from_row,
        ),
        (
            merchants.PartnershipByMerchantLoader,
            merchants.PARTNERSHIP_COLUMNS,
            lambda p: p["Merchant"],
            Partnership.from_row,
        ),
        (
            experiments.ExperimentByIdLoader,
            experiments.EXPERIMENT_COLUMNS,
            lambda p: p["Experiment"],
            Experiment.from_row,
        ),
        (
            experiments.ExperimentsByCampaignLoader,
            experiments.EXPERIMENT_COLUMNS,
            lambda p: p["Campaign"],
            Experiment.from_row,
        ),
        (
            experiments.VariantsByExperimentLoader,
            experiments.VARIANT_COLUMNS,
            lambda p: p["Experiment"],
            Variant.from_row,
        ),
        (
            experiments.ResultSnapshotsByExperimentLoader,
            experiments.SNAPSHOT_COLUMNS,
            lambda p: p["CompletedExperiment"],
            _snapshot,
        ),
        (flags.FeatureFlagByIdLoader, flags.FLAG_COLUMNS, lambda p: p["FeatureFlag"], FeatureFlag.from_row),
        (
            flags.FlagAuditEntryByIdLoader,
            flags.AUDIT_ENTRY_COLUMNS,
            lambda p: p["FlagAuditEntry"],
            FlagAuditEntry.from_row,
        ),
        (flags.RolloutsByFlagLoader, flags.ROLLOUT_COLUMNS, lambda p: p["FeatureFlag"], FlagRollout.from_row),
        (
            flags.AuditEntriesByFlagLoader,
            flags.AUDIT_ENTRY_COLUMNS,
            lambda p: (p["FeatureFlag"], flags.AuditWindow(size=5)),
            FlagAuditEntry.from_row,
        ),
        (
            flags.DailyUsageByFlagLoader,
            flags.USAGE_DAY_COLUMNS,
            lambda p: (p["FeatureFlag"], *days),
            FlagUsageDay.from_row,
        ),
        (admin.SettingByIdLoader, admin.SETTING_COLUMNS, lambda p: p["Setting"], Setting.from_row),
        (users.UserByIdLoader, users.USER_COLUMNS, lambda p: p["User"], User.from_row),
        (users.AccountByIdLoader, users.ACCOUNT_COLUMNS, lambda p: p["Account"], Account.from_row),
        (users.AccountsByUserLoader, users.ACCOUNT_COLUMNS, lambda p: p["User"], Account.from_row),
        (
            users.TransactionByIdLoader,
            users.TRANSACTION_COLUMNS,
            lambda p: p["Transaction"],
            Transaction.from_row,
        ),
        (
            users.TransactionPageByUserLoader,
            users.TRANSACTION_COLUMNS,
            lambda p: (p["User"], users.TransactionFilter(), users.Window(size=5)),
            Transaction.from_row,
        ),
        (
            users.RewardEntryByIdLoader,
            users.REWARD_ENTRY_COLUMNS,
            lambda p: p["RewardEntry"],
            RewardEntry.from_row,
        ),
        (
            users.RewardEntryPageByUserLoader,
            users.REWARD_ENTRY_COLUMNS,
            lambda p: (p["User"], users.Window(size=5)),
            RewardEntry.from_row,
        ),
        (
            ml.OptimalSendTimeByUserLoader,
            ml.SEND_TIME_COLUMNS,
            lambda p: p["User"],
            OptimalSendTime.from_row,
        ),
    ]


def _snapshot(row: Any) -> Any:
    """The snapshot results of one variant's stored row (what the experiments' results read)."""
    variant = SimpleNamespace(id=row.variant_id, key="control", is_control=True)
    return experiment_reads.snapshot_results(variants=[variant], snapshots=[row])


SHAPES = _shapes()


def _keys(columns: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(column.key for column in columns)


@pytest.mark.parametrize(
    ("loader", "columns", "key_of", "convert"), SHAPES, ids=[s[0].__name__ for s in SHAPES]
)
async def test_a_loaders_rows_carry_only_the_listed_columns(  # type: ignore[no-untyped-def]
    world: World,
    db: AsyncSession,
    settings: Settings,
    loader: type,
    columns: tuple[Any, ...],
    key_of,
    convert,
) -> None:
    # given a row the loader finds
    instance = loader(context(db, settings, world.viewer))

    # when it loads it
    with entities_loaded() as loaded:
        value = await instance.load(key_of(world.pks))

    # then it is a row (or a list of rows) of exactly the listed columns, no entity
    rows = value if isinstance(value, list) else [value]
    assert rows and None not in rows
    assert {row._fields for row in rows} == {_keys(columns)}
    assert loaded == []
    # and they are all the GraphQL type reads: its from_row (attribute access) finds every column
    assert [convert(row) for row in rows]


async def test_recommendations_carry_merchant_rows(
    world: World, db: AsyncSession, settings: Settings
) -> None:
    # given a user with an affinity to a merchant
    instance = ml.RecommendedMerchantsByUserLoader(context(db, settings, world.viewer))

    # when the user's recommendations load
    with entities_loaded() as loaded:
        (found,) = await instance.load((world.pks["User"], 5))

    # then the merchant is a row of its columns, then what the ranking adds (whose, how close)
    assert found.merchant._fields == (*_keys(merchants.MERCHANT_COLUMNS), "for_user_id", "affinity_score")
    assert found.merchant.id == world.pks["Merchant"]
    assert loaded == []


async def test_root_lists_select_the_loaders_columns(
    world: World, db: AsyncSession, settings: Settings
) -> None:
    # given the root list queries, as the schema runs them
    viewer, page, now = world.viewer, PageRequest(first=5), dt.datetime.now(dt.UTC)
    near = merchant_reads.MerchantFilter(near=merchant_reads.Near(40.7, -74.0, 5))

    # when each lists its first page
    with entities_loaded() as loaded:
        pages = {
            campaigns.CAMPAIGN_COLUMNS: await campaign_reads.list_campaigns(
                session=db,
                viewer=viewer,
                filter=campaign_reads.CampaignFilter(),
                sort=campaign_reads.CampaignSort.NAME,
                descending=False,
                page=page,
            ),
            users.USER_COLUMNS: await user_reads.list_users(
                session=db,
                viewer=viewer,
                filter=user_reads.UserFilter(),
                sort=user_reads.UserSort.NAME,
                descending=False,
                page=page,
            ),
            experiments.EXPERIMENT_COLUMNS: await experiment_reads.list_experiments(
                session=db, viewer=viewer, filter=experiment_reads.ExperimentFilter(), page=page
            ),
            flags.FLAG_COLUMNS: await flag_reads.list_flags(
                session=db, viewer=viewer, filter=flag_reads.FlagFilter(), page=page, now=now
            ),
            admin.AUDIT_LOG_COLUMNS: await admin_reads.list_audit_log(
                session=db, filter=admin_reads.AuditFilter(), page=page
            ),
        }
        nearby, _ = await merchant_reads.list_merchants(
            session=db, filter=near, sort=merchant_reads.MerchantSort.DISTANCE, page=page
        )
        categories = await merchant_reads.list_categories(context=context(db, settings, viewer))

    # then their rows hold the columns the loaders of the same type select (and a distance)
    for columns, (result, _) in pages.items():
        assert result.rows
        assert {row._fields for row in result.rows} == {_keys(columns)}
    assert {row._fields for row, _ in nearby.rows} == {(*_keys(merchants.MERCHANT_COLUMNS), "distance_km")}
    assert {row._fields for row in categories} == {_keys(merchants.CATEGORY_COLUMNS)}
    assert loaded == []
