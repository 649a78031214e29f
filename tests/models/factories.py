"""One valid row per table, created through the test's session.

`await make_x(db, **overrides)` creates the parents it needs (unless their FK column is given in
`overrides`), flushes and returns the ORM object, whose id is then known. Overrides are attribute
names of the model and win over every default, so a test can build an invalid row the same way.
Values that must be unique come from a counter.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from models.admin import AuditLogEntry, IdempotencyKey, Setting
from models.analytics import (
    CampaignDailyMetrics,
    CampaignEventLog,
    CampaignEventReceipt,
    CampaignHourlyTrend,
    CampaignSegmentMetrics,
    PendingCampaignEvent,
)
from models.auth import ApiKey, PasswordResetToken, RefreshToken, RefreshTokenFamily
from models.base import Base
from models.campaigns import Campaign
from models.experiments import Experiment, ExperimentAssignment, ExperimentResult, ExperimentVariant
from models.flags import (
    FeatureFlag,
    FlagAuditEntry,
    FlagConfigVersion,
    FlagDailyAnalytics,
    FlagRollout,
    FlagUsage,
)
from models.merchants import Merchant, MerchantCategory, PreferredMerchant
from models.ml import CampaignOptimization, MLModel, UserMerchantAffinity, UserOptimalSendTime
from models.users import Account, RewardEntry, Transaction, User

M = TypeVar("M", bound=Base)
Factory = Callable[..., Awaitable[Any]]

# An id no identity column of a test database ever reaches.
MISSING_ID = 9_000_000_000
T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
D0 = date(2024, 1, 1)

_counter = itertools.count(1)


def seq() -> int:
    return next(_counter)


async def _save(db: AsyncSession, model: type[M], defaults: dict[str, Any], overrides: dict[str, Any]) -> M:
    row = model(**{**defaults, **overrides})
    db.add(row)
    await db.flush()
    return row


async def _parent(db: AsyncSession, overrides: dict[str, Any], column: str, factory: Factory) -> Any:
    """The parent's id for `column`: the override if given, else a new parent's."""
    if column not in overrides:
        overrides[column] = (await factory(db)).id
    return overrides[column]


# users ------------------------------------------------------------------------------------------


async def make_user(db: AsyncSession, **o: Any) -> User:
    n = seq()
    return await _save(
        db, User, {"email": f"user{n}@example.com", "name": f"User {n}", "role": "customer"}, o
    )


async def make_account(db: AsyncSession, **o: Any) -> Account:
    await _parent(db, o, "user_id", make_user)
    defaults = {"kind": "checking", "institution": "Test Bank", "last_four": "1234", "currency": "USD"}
    return await _save(db, Account, defaults, o)


async def make_transaction(db: AsyncSession, **o: Any) -> Transaction:
    if "account_id" not in o:
        # The account of the given user, or of a new user who then owns the transaction too.
        account = await make_account(db, **({"user_id": o["user_id"]} if "user_id" in o else {}))
        o["account_id"] = account.id
        o.setdefault("user_id", account.user_id)
    await _parent(db, o, "user_id", make_user)
    n = seq()
    defaults = {
        "external_ref": f"ext-{n}",
        "amount": Decimal("25.00"),
        "currency": "USD",
        "category": "dining",
        "status": "posted",
        "occurred_at": T0,
    }
    return await _save(db, Transaction, defaults, o)


async def make_reward_entry(db: AsyncSession, **o: Any) -> RewardEntry:
    await _parent(db, o, "user_id", make_user)
    return await _save(db, RewardEntry, {"kind": "earn", "points": 10}, o)


# campaigns --------------------------------------------------------------------------------------


async def make_campaign(db: AsyncSession, **o: Any) -> Campaign:
    n = seq()
    return await _save(db, Campaign, {"name": f"Campaign {n}", "type": "email_offer", "status": "draft"}, o)


# flags ------------------------------------------------------------------------------------------


async def make_feature_flag(db: AsyncSession, **o: Any) -> FeatureFlag:
    n = seq()
    defaults = {"key": f"test_flag_{n}", "name": f"Flag {n}", "category": "ui", "type": "release"}
    return await _save(db, FeatureFlag, defaults, o)


async def make_feature_flag_rollout(db: AsyncSession, **o: Any) -> FlagRollout:
    await _parent(db, o, "flag_id", make_feature_flag)
    return await _save(db, FlagRollout, {"variant_key": f"variant_{seq()}", "weight": 500}, o)


async def make_feature_flag_usage(db: AsyncSession, **o: Any) -> FlagUsage:
    await _parent(db, o, "flag_id", make_feature_flag)
    return await _save(db, FlagUsage, {"app_type": "mobile"}, o)


async def make_feature_flag_analytics(db: AsyncSession, **o: Any) -> FlagDailyAnalytics:
    await _parent(db, o, "flag_id", make_feature_flag)
    return await _save(db, FlagDailyAnalytics, {"date": D0}, o)


async def make_feature_flag_config_version(db: AsyncSession, **o: Any) -> FlagConfigVersion:
    """The one row the migration made (any other is refused by its CHECK)."""
    if not o:
        found = await db.get(FlagConfigVersion, 1)
        assert found is not None
        return found
    return await _save(db, FlagConfigVersion, {}, o)


async def make_feature_flag_audit_entry(db: AsyncSession, **o: Any) -> FlagAuditEntry:
    if "flag_id" not in o:
        flag = await make_feature_flag(db)
        o["flag_id"] = flag.id
        o.setdefault("flag_key", flag.key)
    defaults = {"flag_key": f"test_flag_{seq()}", "action": "create", "changed_by": "tester"}
    return await _save(db, FlagAuditEntry, defaults, o)


# experiments ------------------------------------------------------------------------------------


async def make_ab_test(db: AsyncSession, **o: Any) -> Experiment:
    n = seq()
    return await _save(db, Experiment, {"key": f"test_{n}", "name": f"Test {n}"}, o)


async def make_ab_test_variant(db: AsyncSession, **o: Any) -> ExperimentVariant:
    await _parent(db, o, "test_id", make_ab_test)
    n = seq()
    return await _save(
        db, ExperimentVariant, {"key": f"variant_{n}", "name": f"Variant {n}", "weight": 500}, o
    )


async def _test_and_variant(db: AsyncSession, o: dict[str, Any]) -> None:
    """A variant of the row's test (a variant given alone keeps a test of its own: a mismatch)."""
    test_id = await _parent(db, o, "test_id", make_ab_test)
    if "variant_id" not in o:
        o["variant_id"] = (await make_ab_test_variant(db, test_id=test_id)).id


async def make_ab_test_assignment(db: AsyncSession, **o: Any) -> ExperimentAssignment:
    await _test_and_variant(db, o)
    await _parent(db, o, "user_id", make_user)
    return await _save(db, ExperimentAssignment, {}, o)


async def make_ab_test_result(db: AsyncSession, **o: Any) -> ExperimentResult:
    await _test_and_variant(db, o)
    defaults = {
        "computed_at": T0,
        "users_count": 10,
        "converted_users": 2,
        "conversions": 3,
        "conversion_rate": 0.2,
        "revenue": Decimal("30.00"),
        "revenue_per_user": 3.0,
    }
    return await _save(db, ExperimentResult, defaults, o)


# analytics --------------------------------------------------------------------------------------


async def make_campaign_daily(db: AsyncSession, **o: Any) -> CampaignDailyMetrics:
    await _parent(db, o, "campaign_id", make_campaign)
    return await _save(db, CampaignDailyMetrics, {"date": D0}, o)


async def make_campaign_segment(db: AsyncSession, **o: Any) -> CampaignSegmentMetrics:
    await _parent(db, o, "campaign_id", make_campaign)
    return await _save(db, CampaignSegmentMetrics, {"segment_name": "new_users", "date": D0}, o)


async def make_campaign_trend(db: AsyncSession, **o: Any) -> CampaignHourlyTrend:
    await _parent(db, o, "campaign_id", make_campaign)
    return await _save(db, CampaignHourlyTrend, {"period": T0}, o)


async def make_campaign_event_receipt(db: AsyncSession, **o: Any) -> CampaignEventReceipt:
    await _parent(db, o, "campaign_id", make_campaign)
    await _parent(db, o, "user_id", make_user)
    defaults = {"reporter": f"user:{o['user_id']}", "client_event_id": f"event-{seq()}", "date": D0}
    return await _save(db, CampaignEventReceipt, defaults, o)


async def make_campaign_event_pending(db: AsyncSession, **o: Any) -> PendingCampaignEvent:
    # No foreign key on purpose (appends take no lock on the campaign): any id is accepted.
    defaults = {"campaign_id": MISSING_ID, "type": "impression", "occurred_at": T0}
    return await _save(db, PendingCampaignEvent, defaults, o)


async def make_campaign_event_log(db: AsyncSession, **o: Any) -> CampaignEventLog:
    defaults = {
        "event_id": seq(),
        "day": T0.date(),
        "campaign_id": MISSING_ID,
        "type": "click",
        "occurred_at": T0,
        "received_at": T0,
    }
    return await _save(db, CampaignEventLog, defaults, o)


# merchants --------------------------------------------------------------------------------------


async def make_merchant_category(db: AsyncSession, **o: Any) -> MerchantCategory:
    return await _save(db, MerchantCategory, {"name": f"Category {seq()}", "color_code": "#FFAA00"}, o)


async def make_merchant(db: AsyncSession, **o: Any) -> Merchant:
    await _parent(db, o, "category_id", make_merchant_category)
    n = seq()
    defaults = {"code": f"M{n}", "name": f"Merchant {n}", "latitude": 40.7, "longitude": -74.0}
    return await _save(db, Merchant, defaults, o)


async def make_preferred_merchant(db: AsyncSession, **o: Any) -> PreferredMerchant:
    await _parent(db, o, "merchant_id", make_merchant)
    return await _save(db, PreferredMerchant, {"partnership_type": "standard"}, o)


# ml ---------------------------------------------------------------------------------------------


async def make_ml_model(db: AsyncSession, **o: Any) -> MLModel:
    defaults = {"name": f"model_{seq()}", "model_type": "conversion", "version": "1.0", "training_date": T0}
    return await _save(db, MLModel, defaults, o)


async def make_user_merchant_affinity(db: AsyncSession, **o: Any) -> UserMerchantAffinity:
    await _parent(db, o, "user_id", make_user)
    await _parent(db, o, "merchant_id", make_merchant)
    return await _save(db, UserMerchantAffinity, {"affinity_score": 0.5}, o)


async def make_user_optimal_send_time(db: AsyncSession, **o: Any) -> UserOptimalSendTime:
    await _parent(db, o, "user_id", make_user)
    return await _save(db, UserOptimalSendTime, {"optimal_hour": 9, "optimal_day_of_week": 1}, o)


async def make_campaign_optimization(db: AsyncSession, **o: Any) -> CampaignOptimization:
    await _parent(db, o, "campaign_id", make_campaign)
    defaults = {"recommendation_type": "offer", "recommendation_text": "Raise the cashback"}
    return await _save(db, CampaignOptimization, defaults, o)


# admin ------------------------------------------------------------------------------------------


async def make_audit_log_entry(db: AsyncSession, **o: Any) -> AuditLogEntry:
    defaults = {"actor_label": "system", "action": "create", "entity_type": "campaign", "entity_id": 1}
    return await _save(db, AuditLogEntry, defaults, o)


async def make_setting(db: AsyncSession, **o: Any) -> Setting:
    return await _save(db, Setting, {"key": f"setting_{seq()}", "value": {"enabled": True}}, o)


async def make_api_key(db: AsyncSession, **o: Any) -> ApiKey:
    n = seq()
    defaults = {"name": f"Key {n}", "prefix": f"sk_{n}", "key_hash": f"{n:064x}", "role": "service"}
    return await _save(db, ApiKey, defaults, o)


async def make_refresh_token_family(db: AsyncSession, **o: Any) -> RefreshTokenFamily:
    await _parent(db, o, "user_id", make_user)
    return await _save(db, RefreshTokenFamily, {"expires_at": T0 + timedelta(days=30)}, o)


async def make_refresh_token(db: AsyncSession, **o: Any) -> RefreshToken:
    await _parent(db, o, "family_id", make_refresh_token_family)
    return await _save(
        db, RefreshToken, {"token_hash": f"{seq():064x}", "expires_at": T0 + timedelta(days=1)}, o
    )


async def make_password_reset_token(db: AsyncSession, **o: Any) -> PasswordResetToken:
    await _parent(db, o, "user_id", make_user)
    defaults = {"token_hash": f"{seq():064x}", "expires_at": datetime(2100, 1, 1, tzinfo=UTC)}
    return await _save(db, PasswordResetToken, defaults, o)


async def make_idempotency_key(db: AsyncSession, **o: Any) -> IdempotencyKey:
    defaults = {
        "scope": "user:1",
        "key": f"key-{seq()}",
        "fingerprint": "f" * 64,
        "status": "in_progress",
        "expires_at": datetime(2100, 1, 1, tzinfo=UTC),
    }
    return await _save(db, IdempotencyKey, defaults, o)


# Every table's factory, by table name (a test checks that no table is missing).
FACTORIES: dict[str, Factory] = {
    "users": make_user,
    "accounts": make_account,
    "transactions": make_transaction,
    "rewards_ledger": make_reward_entry,
    "campaigns": make_campaign,
    "feature_flags": make_feature_flag,
    "feature_flag_rollouts": make_feature_flag_rollout,
    "feature_flag_usage": make_feature_flag_usage,
    "feature_flag_analytics": make_feature_flag_analytics,
    "feature_flag_audit_log": make_feature_flag_audit_entry,
    "feature_flag_config_version": make_feature_flag_config_version,
    "ab_tests": make_ab_test,
    "ab_test_variants": make_ab_test_variant,
    "ab_test_assignments": make_ab_test_assignment,
    "ab_test_results": make_ab_test_result,
    "campaign_analytics_daily": make_campaign_daily,
    "campaign_analytics_segments": make_campaign_segment,
    "campaign_trend_data": make_campaign_trend,
    "campaign_event_receipts": make_campaign_event_receipt,
    "campaign_events_pending": make_campaign_event_pending,
    "campaign_events": make_campaign_event_log,
    "merchant_categories": make_merchant_category,
    "merchants": make_merchant,
    "preferred_merchants": make_preferred_merchant,
    "ml_models": make_ml_model,
    "user_merchant_affinity": make_user_merchant_affinity,
    "user_optimal_send_times": make_user_optimal_send_time,
    "campaign_optimizations": make_campaign_optimization,
    "audit_log": make_audit_log_entry,
    "settings": make_setting,
    "api_keys": make_api_key,
    "refresh_token_families": make_refresh_token_family,
    "refresh_tokens": make_refresh_token,
    "idempotency_keys": make_idempotency_key,
    "password_reset_tokens": make_password_reset_token,
}


# Last: the notifications domain's factories build on the ones above (users).
from tests.models.notification_factories import NOTIFICATION_FACTORIES  # noqa: E402

FACTORIES.update(NOTIFICATION_FACTORIES)
