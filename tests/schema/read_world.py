"""What the read-path tests share: a world of one row of every kind the API reads, and a record of
the ORM entities a block loads.

The world is made through the ORM factories and then expunged, so an entity a read loaded would be
a fresh one and fire the mapper's `load` event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import Role, Viewer
from models.base import Base
from tests.models import factories as f

# README query 1's range, which the world's daily rows fall in.
README_DAYS = (dt.date(2026, 10, 24), dt.date(2026, 11, 22))
START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
IP = "192.0.2.7"
NODE_TYPES = (
    "User", "Account", "Transaction", "RewardEntry", "Campaign", "Merchant", "MerchantCategory",
    "Experiment", "FeatureFlag", "FlagAuditEntry", "CampaignOptimization", "MlModel",
)  # fmt: skip


@contextmanager
def entities_loaded() -> Iterator[list[str]]:
    """The class name of every ORM entity loaded from a row while the block runs."""
    loaded: list[str] = []

    def on_load(target: Any, context: Any) -> None:
        loaded.append(type(target).__name__)

    event.listen(Base, "load", on_load, propagate=True)
    try:
        yield loaded
    finally:
        event.remove(Base, "load", on_load)


@dataclass
class World:
    """One row of every kind the read path reads, linked as a dashboard and an app would see them."""

    viewer: Viewer  # an admin with the world's user account
    pks: dict[str, int]  # database ids by GraphQL type name (and of rows only loaders read)
    flag_key: str

    @property
    def ids(self) -> dict[str, str]:
        """Global ids of the node types."""
        return {name: relay.to_base64(name, pk) for name, pk in self.pks.items() if name in NODE_TYPES}


async def build_world(db: AsyncSession) -> World:
    day = README_DAYS[0] + dt.timedelta(days=3)
    user = await f.make_user(db, role="admin")
    category = await f.make_merchant_category(db)
    merchant = await f.make_merchant(db, category_id=category.id)
    await f.make_preferred_merchant(db, merchant_id=merchant.id, is_partner=True)
    campaign = await f.make_campaign(
        db, merchant_id=merchant.id, status="running", starts_at=START, ends_at=START + dt.timedelta(days=90)
    )
    daily = await f.make_campaign_daily(
        db, campaign_id=campaign.id, date=day, impressions=100, clicks=5, revenue=9, spend=3
    )
    await f.make_campaign_segment(db, campaign_id=campaign.id, date=day)
    await f.make_campaign_trend(
        db, campaign_id=campaign.id, period=dt.datetime.combine(day, dt.time(12), dt.UTC)
    )
    optimization = await f.make_campaign_optimization(db, campaign_id=campaign.id)
    running = await f.make_ab_test(db, campaign_id=campaign.id, status="running")
    control = await f.make_ab_test_variant(db, test_id=running.id, key="control", is_control=True)
    await f.make_ab_test_variant(db, test_id=running.id, key="treatment")
    await f.make_ab_test_assignment(db, test_id=running.id, variant_id=control.id, user_id=user.id)
    done = await f.make_ab_test(db, campaign_id=campaign.id, status="completed")
    for key in ("control", "treatment"):
        variant = await f.make_ab_test_variant(db, test_id=done.id, key=key, is_control=key == "control")
        await f.make_ab_test_result(db, test_id=done.id, variant_id=variant.id)
    await f.make_ab_test_assignment(db, test_id=done.id, variant_id=variant.id, user_id=user.id)
    flag = await f.make_feature_flag(db, enabled=True, rollout_percentage=50)
    await f.make_feature_flag_rollout(db, flag_id=flag.id)
    audit = await f.make_feature_flag_audit_entry(db, flag_id=flag.id, flag_key=flag.key, ip_address=IP)
    await f.make_feature_flag_analytics(db, flag_id=flag.id, date=day, total_checks=10)
    account = await f.make_account(db, user_id=user.id)
    transaction = await f.make_transaction(
        db, user_id=user.id, account_id=account.id, merchant_id=merchant.id, campaign_id=campaign.id
    )
    reward = await f.make_reward_entry(db, user_id=user.id)
    await f.make_user_merchant_affinity(db, user_id=user.id, merchant_id=merchant.id)
    await f.make_user_optimal_send_time(db, user_id=user.id)
    model = await f.make_ml_model(db)
    await f.make_audit_log_entry(db, ip_address=IP)
    setting = await f.make_setting(db)
    pks = {
        "User": user.id,
        "Account": account.id,
        "Transaction": transaction.id,
        "RewardEntry": reward.id,
        "Campaign": campaign.id,
        "Merchant": merchant.id,
        "MerchantCategory": category.id,
        "Experiment": running.id,
        "CompletedExperiment": done.id,
        "FeatureFlag": flag.id,
        "FlagAuditEntry": audit.id,
        "CampaignOptimization": optimization.id,
        "MlModel": model.id,
        "MetricDay": daily.id,
        "Setting": setting.id,
    }
    world = World(viewer=Viewer(role=Role.ADMIN, user_id=user.id), pks=pks, flag_key=flag.key)
    db.expunge_all()
    return world
