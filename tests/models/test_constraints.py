"""Every CHECK, UNIQUE and FOREIGN KEY constraint of the models rejects a bad row in PostgreSQL.

The cases are tables keyed by constraint name; meta-tests walk `Base.metadata` so that a new
constraint without a case fails the suite.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, UniqueConstraint, delete, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import Base
from models.campaigns import Campaign
from models.flags import FeatureFlag, FlagAuditEntry
from models.merchants import Merchant
from models.users import User
from tests.models import factories as f
from tests.models import notification_cases
from tests.models.factories import FACTORIES, MISSING_ID, T0, Factory
from tests.models.support import rejected, violated_constraint

TABLES = Base.metadata.tables.values()


def test_every_table_has_a_factory() -> None:
    assert set(FACTORIES) == set(Base.metadata.tables)


@pytest.mark.parametrize("table", sorted(FACTORIES))
async def test_factory_builds_a_valid_row(db: AsyncSession, table: str) -> None:
    row = await FACTORIES[table](db)
    assert sa_inspect(row).identity is not None


# CHECK ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    factory: Factory
    overrides: dict[str, Any] = field(default_factory=dict)
    # Constraints the same bad row necessarily violates too (dropped inside the savepoint first).
    also_violated: tuple[str, ...] = ()


LATER = T0 + timedelta(days=1)

CHECK_CASES: dict[str, Case] = {
    # users
    "ck_users_role_allowed": Case(f.make_user, {"role": "superuser"}),
    "ck_users_loyalty_tier_allowed": Case(f.make_user, {"loyalty_tier": "diamond"}),
    "ck_users_email_unless_erased": Case(f.make_user, {"email": None}),
    "ck_users_merchant_staff_has_merchant": Case(f.make_user, {"role": "merchant", "merchant_id": None}),
    "ck_users_reward_points_non_negative": Case(f.make_user, {"reward_points": -1}),
    "ck_users_phone_e164": Case(f.make_user, {"phone": "555-1234"}),
    "ck_accounts_kind_allowed": Case(f.make_account, {"kind": "piggy_bank"}),
    "ck_accounts_status_allowed": Case(f.make_account, {"status": "lost"}),
    "ck_accounts_last_four_digits": Case(f.make_account, {"last_four": "12a4"}),
    "ck_accounts_currency_iso": Case(f.make_account, {"currency": "usd"}),
    "ck_transactions_category_allowed": Case(f.make_transaction, {"category": "gambling"}),
    "ck_transactions_status_allowed": Case(f.make_transaction, {"status": "lost"}),
    "ck_transactions_amount_positive": Case(f.make_transaction, {"amount": Decimal("0")}),
    "ck_transactions_currency_iso": Case(f.make_transaction, {"currency": "US"}),
    # Any unknown kind also fails the sign rule, which lists the kinds.
    "ck_rewards_ledger_kind_allowed": Case(
        f.make_reward_entry, {"kind": "bonus"}, ("ck_rewards_ledger_points_sign_matches_kind",)
    ),
    "ck_rewards_ledger_points_non_zero": Case(f.make_reward_entry, {"kind": "adjust", "points": 0}),
    "ck_rewards_ledger_points_sign_matches_kind": Case(f.make_reward_entry, {"kind": "earn", "points": -5}),
    # campaigns
    "ck_campaigns_type_allowed": Case(f.make_campaign, {"type": "billboard"}),
    "ck_campaigns_status_allowed": Case(
        f.make_campaign, {"status": "deleted", "starts_at": T0, "ends_at": LATER}
    ),
    "ck_campaigns_budget_non_negative": Case(f.make_campaign, {"budget": Decimal("-1")}),
    "ck_campaigns_starts_before_ends": Case(f.make_campaign, {"starts_at": LATER, "ends_at": T0}),
    "ck_campaigns_scheduled_unless_draft": Case(f.make_campaign, {"status": "scheduled"}),
    "ck_campaigns_cashback_percent_range": Case(
        f.make_campaign, {"type": "cashback", "cashback_percent": Decimal("100.01")}
    ),
    "ck_campaigns_cashback_only_for_cashback": Case(
        f.make_campaign, {"type": "email_offer", "cashback_percent": Decimal("5")}
    ),
    # flags
    "ck_feature_flags_category_allowed": Case(f.make_feature_flag, {"category": "beta"}),
    "ck_feature_flags_type_allowed": Case(f.make_feature_flag, {"type": "forever"}),
    "ck_feature_flags_rollout_percentage_range": Case(f.make_feature_flag, {"rollout_percentage": 101}),
    "ck_feature_flags_key_slug": Case(f.make_feature_flag, {"key": "Dark Mode"}),
    "ck_feature_flag_rollouts_weight_range": Case(f.make_feature_flag_rollout, {"weight": 1001}),
    "ck_feature_flag_usage_app_type_allowed": Case(f.make_feature_flag_usage, {"app_type": "tv"}),
    "ck_feature_flag_usage_response_time_ms_non_negative": Case(
        f.make_feature_flag_usage, {"response_time_ms": -0.5}
    ),
    "ck_feature_flag_analytics_total_users_non_negative": Case(
        f.make_feature_flag_analytics, {"total_users": -1}
    ),
    # enabled + disabled <= total and cache_hits <= total already imply total >= 0.
    "ck_feature_flag_analytics_total_checks_non_negative": Case(
        f.make_feature_flag_analytics,
        {"total_checks": -1},
        (
            "ck_feature_flag_analytics_outcomes_within_checks",
            "ck_feature_flag_analytics_cache_hits_within_checks",
        ),
    ),
    "ck_feature_flag_analytics_enabled_count_non_negative": Case(
        f.make_feature_flag_analytics, {"enabled_count": -1}
    ),
    "ck_feature_flag_analytics_disabled_count_non_negative": Case(
        f.make_feature_flag_analytics, {"disabled_count": -1}
    ),
    "ck_feature_flag_analytics_error_count_non_negative": Case(
        f.make_feature_flag_analytics, {"error_count": -1}
    ),
    "ck_feature_flag_analytics_cache_hits_non_negative": Case(
        f.make_feature_flag_analytics, {"cache_hits": -1}
    ),
    "ck_feature_flag_analytics_outcomes_within_checks": Case(
        f.make_feature_flag_analytics, {"total_checks": 3, "enabled_count": 2, "disabled_count": 2}
    ),
    "ck_feature_flag_analytics_cache_hits_within_checks": Case(
        f.make_feature_flag_analytics, {"total_checks": 3, "cache_hits": 4}
    ),
    "ck_feature_flag_analytics_response_time_ms_total_non_negative": Case(
        f.make_feature_flag_analytics, {"response_time_ms_total": -1.0}
    ),
    "ck_feature_flag_analytics_evaluations_non_negative": Case(
        f.make_feature_flag_analytics,
        {"evaluations": -1},
        ("ck_feature_flag_analytics_evaluations_enabled_within",),
    ),
    "ck_feature_flag_analytics_evaluations_enabled_non_negative": Case(
        f.make_feature_flag_analytics, {"evaluations_enabled": -1}
    ),
    "ck_feature_flag_analytics_evaluations_enabled_within": Case(
        f.make_feature_flag_analytics, {"evaluations": 2, "evaluations_enabled": 3}
    ),
    "ck_feature_flag_audit_log_action_allowed": Case(f.make_feature_flag_audit_entry, {"action": "explode"}),
    "ck_feature_flag_config_version_single_row": Case(f.make_feature_flag_config_version, {"id": 2}),
    # experiments
    "ck_ab_tests_status_allowed": Case(f.make_ab_test, {"status": "cancelled"}),
    "ck_ab_tests_key_slug": Case(f.make_ab_test, {"key": "Checkout Test"}),
    "ck_ab_tests_starts_before_ends": Case(f.make_ab_test, {"starts_at": LATER, "ends_at": LATER}),
    "ck_ab_tests_confidence_level_range": Case(f.make_ab_test, {"confidence_level": 50.0}),
    "ck_ab_tests_power_range": Case(f.make_ab_test, {"min_statistical_power": 100.0}),
    "ck_ab_tests_baseline_rate_range": Case(f.make_ab_test, {"baseline_rate": 1.0}),
    "ck_ab_tests_mde_positive": Case(f.make_ab_test, {"minimum_detectable_effect": 0.0}),
    "ck_ab_tests_sample_size_positive": Case(f.make_ab_test, {"sample_size": 0}),
    "ck_ab_test_variants_weight_range": Case(f.make_ab_test_variant, {"weight": -1}),
    "ck_ab_test_variants_key_slug": Case(f.make_ab_test_variant, {"key": "-control"}),
    "ck_ab_test_assignments_conversions_non_negative": Case(f.make_ab_test_assignment, {"conversions": -1}),
    "ck_ab_test_assignments_revenue_non_negative": Case(
        f.make_ab_test_assignment, {"revenue": Decimal("-0.01")}
    ),
    # converted_users >= 0 and converted_users <= users_count already imply users_count >= 0.
    "ck_ab_test_results_users_count_non_negative": Case(
        f.make_ab_test_result,
        {"users_count": -1, "converted_users": 0},
        ("ck_ab_test_results_converted_within_users",),
    ),
    "ck_ab_test_results_converted_users_non_negative": Case(f.make_ab_test_result, {"converted_users": -1}),
    "ck_ab_test_results_conversions_non_negative": Case(f.make_ab_test_result, {"conversions": -1}),
    "ck_ab_test_results_revenue_non_negative": Case(f.make_ab_test_result, {"revenue": Decimal("-1")}),
    "ck_ab_test_results_converted_within_users": Case(
        f.make_ab_test_result, {"users_count": 3, "converted_users": 4}
    ),
    "ck_ab_test_results_p_value_range": Case(f.make_ab_test_result, {"p_value": 1.5}),
    "ck_ab_test_results_p_value_adjusted_range": Case(f.make_ab_test_result, {"p_value_adjusted": -0.1}),
    "ck_ab_test_results_srm_p_value_range": Case(f.make_ab_test_result, {"srm_p_value": 2.0}),
    # analytics
    **{
        f"ck_campaign_analytics_daily_{c}_non_negative": Case(f.make_campaign_daily, {c: -1})
        for c in ("impressions", "clicks", "conversions", "revenue", "spend")
    },
    **{
        f"ck_campaign_analytics_segments_{c}_non_negative": Case(f.make_campaign_segment, {c: -1})
        for c in ("impressions", "clicks", "conversions", "revenue", "retained_users")
    },
    # retained_users >= 0 and retained_users <= users_count already imply users_count >= 0.
    "ck_campaign_analytics_segments_users_count_non_negative": Case(
        f.make_campaign_segment,
        {"users_count": -1},
        ("ck_campaign_analytics_segments_retained_within_users",),
    ),
    "ck_campaign_analytics_segments_retained_within_users": Case(
        f.make_campaign_segment, {"users_count": 3, "retained_users": 4}
    ),
    **{
        f"ck_campaign_trend_data_{c}_non_negative": Case(f.make_campaign_trend, {c: -1})
        for c in ("impressions", "clicks", "conversions", "revenue")
    },
    "ck_campaign_events_pending_type_allowed": Case(f.make_campaign_event_pending, {"type": "open"}),
    "ck_campaign_trend_data_period_on_the_hour": Case(
        f.make_campaign_trend, {"period": T0 + timedelta(minutes=30)}
    ),
    # merchants
    "ck_merchant_categories_color_code_hex": Case(f.make_merchant_category, {"color_code": "red"}),
    "ck_merchants_latitude_range": Case(f.make_merchant, {"latitude": 90.5}),
    "ck_merchants_longitude_range": Case(f.make_merchant, {"longitude": -180.5}),
    "ck_merchants_rating_range": Case(f.make_merchant, {"rating": Decimal("5.01")}),
    "ck_merchants_total_reviews_non_negative": Case(f.make_merchant, {"total_reviews": -1}),
    "ck_preferred_merchants_partnership_type_allowed": Case(
        f.make_preferred_merchant, {"partnership_type": "gold"}
    ),
    "ck_preferred_merchants_commission_rate_range": Case(
        f.make_preferred_merchant, {"commission_rate": Decimal("100.50")}
    ),
    **{
        f"ck_preferred_merchants_{c}_non_negative": Case(f.make_preferred_merchant, {c: -1})
        for c in (
            "user_visits_total",
            "campaign_impressions",
            "campaign_conversions",
            "revenue_from_campaigns",
        )
    },
    # ml
    "ck_ml_models_model_type_allowed": Case(f.make_ml_model, {"model_type": "llm"}),
    "ck_ml_models_status_allowed": Case(f.make_ml_model, {"status": "live"}),
    **{
        f"ck_ml_models_{c}_range": Case(f.make_ml_model, {c: 1.01})
        for c in ("accuracy", "precision", "recall", "f1_score", "auc_score")
    },
    "ck_ml_models_feature_count_non_negative": Case(f.make_ml_model, {"feature_count": -1}),
    "ck_ml_models_training_samples_non_negative": Case(f.make_ml_model, {"training_samples": -1}),
    "ck_user_merchant_affinity_affinity_score_range": Case(
        f.make_user_merchant_affinity, {"affinity_score": 1.1}
    ),
    **{
        f"ck_user_merchant_affinity_{c}_non_negative": Case(f.make_user_merchant_affinity, {c: -1})
        for c in ("interaction_count", "purchase_count", "avg_transaction_value")
    },
    "ck_user_optimal_send_times_optimal_hour_range": Case(
        f.make_user_optimal_send_time, {"optimal_hour": 24}
    ),
    "ck_user_optimal_send_times_optimal_day_of_week_range": Case(
        f.make_user_optimal_send_time, {"optimal_day_of_week": 7}
    ),
    **{
        f"ck_user_optimal_send_times_{c}_range": Case(f.make_user_optimal_send_time, {c: -0.01})
        for c in (
            "confidence_score",
            "open_rate_morning",
            "open_rate_afternoon",
            "open_rate_evening",
            "engagement_score",
        )
    },
    "ck_campaign_optimizations_recommendation_type_allowed": Case(
        f.make_campaign_optimization, {"recommendation_type": "magic"}
    ),
    "ck_campaign_optimizations_implementation_effort_allowed": Case(
        f.make_campaign_optimization, {"implementation_effort": "huge"}
    ),
    "ck_campaign_optimizations_confidence_score_range": Case(
        f.make_campaign_optimization, {"confidence_score": 1.5}
    ),
    "ck_campaign_optimizations_priority_range": Case(f.make_campaign_optimization, {"priority": 0}),
    # admin
    "ck_settings_key_slug": Case(f.make_setting, {"key": "Max Items"}),
    "ck_api_keys_role_allowed": Case(f.make_api_key, {"role": "customer"}),
    "ck_api_keys_merchant_key_has_merchant": Case(f.make_api_key, {"role": "merchant", "merchant_id": None}),
    "ck_idempotency_keys_status_allowed": Case(
        f.make_idempotency_key, {"status": "failed", "completed_at": T0}
    ),
    "ck_password_reset_tokens_expires_after_created": Case(
        f.make_password_reset_token, {"expires_at": datetime(2000, 1, 1, tzinfo=T0.tzinfo)}
    ),
    "ck_idempotency_keys_completed_has_time": Case(f.make_idempotency_key, {"status": "completed"}),
    "ck_idempotency_keys_expires_after_created": Case(
        f.make_idempotency_key, {"expires_at": datetime(2000, 1, 1, tzinfo=T0.tzinfo)}
    ),
}
CHECK_CASES.update(notification_cases.check_cases(Case))


def _names(kind: type) -> set[str]:
    return {str(c.name) for t in TABLES for c in t.constraints if isinstance(c, kind)}


def test_every_check_constraint_has_a_case() -> None:
    assert set(CHECK_CASES) == _names(CheckConstraint)


@pytest.mark.parametrize("name", sorted(CHECK_CASES))
async def test_check_constraint_rejects_bad_row(db: AsyncSession, name: str) -> None:
    case = CHECK_CASES[name]
    # the factory builds a valid row, unless given the case's overrides
    error = await rejected(db, lambda: case.factory(db, **case.overrides), drop_first=case.also_violated)
    assert violated_constraint(error) == name


# UNIQUE -----------------------------------------------------------------------------------------

# Given the session, create a first row and return the insert of its duplicate.
DuplicateSetup = Callable[[AsyncSession], Awaitable[Callable[[], Awaitable[object]]]]


@dataclass(frozen=True)
class UniqueCase:
    setup: DuplicateSetup
    also_violated: tuple[str, ...] = ()


def same(factory: Factory, *key: str, **common: Any) -> UniqueCase:
    """Two rows built by `factory` with `common` overrides, the second copying the first's `key`."""

    async def setup(db: AsyncSession) -> Callable[[], Awaitable[object]]:
        first = await factory(db, **common)
        copied = {attr: getattr(first, attr) for attr in key}
        return lambda: factory(db, **common, **copied)

    return UniqueCase(setup)


async def _email_differing_in_case(db: AsyncSession) -> Callable[[], Awaitable[object]]:
    await f.make_user(db, email="ann@x.io")
    return lambda: f.make_user(db, email="Ann@X.io")


async def _second_earn_for_transaction(db: AsyncSession) -> Callable[[], Awaitable[object]]:
    tx = await f.make_transaction(db)
    await f.make_reward_entry(db, user_id=tx.user_id, transaction_id=tx.id, kind="earn", points=25)
    return lambda: f.make_reward_entry(db, user_id=tx.user_id, transaction_id=tx.id, kind="earn", points=25)


async def _same_test_and_id(db: AsyncSession) -> Callable[[], Awaitable[object]]:
    # (test_id, id) exists as the target of the composite FKs; the primary key already makes id
    # unique, so it is dropped (inside the savepoint) and the identity overridden.
    variant = await f.make_ab_test_variant(db)
    sql = text(
        "INSERT INTO ab_test_variants (id, test_id, key, name, weight) OVERRIDING SYSTEM VALUE"
        " VALUES (:id, :test_id, 'copy', 'Copy', 0)"
    )
    return lambda: db.execute(sql, {"id": variant.id, "test_id": variant.test_id})


UNIQUE_CASES: dict[str, UniqueCase] = {
    "uq_users_lower_email": UniqueCase(_email_differing_in_case),
    "uq_transactions_external_ref": same(f.make_transaction, "external_ref"),
    "uq_rewards_ledger_transaction_id_earn": UniqueCase(_second_earn_for_transaction),
    "uq_feature_flags_key": same(f.make_feature_flag, "key"),
    # NULLS NOT DISTINCT: the "all segments" row (NULL segment) is unique too.
    "uq_feature_flag_rollouts_flag_id_variant_key_user_segment": same(
        f.make_feature_flag_rollout, "flag_id", "variant_key", user_segment=None
    ),
    "uq_feature_flag_analytics_flag_id_date": same(f.make_feature_flag_analytics, "flag_id", "date"),
    "uq_ab_tests_key": same(f.make_ab_test, "key"),
    "uq_ab_test_variants_test_id_key": same(f.make_ab_test_variant, "test_id", "key"),
    "uq_ab_test_variants_test_id_id": UniqueCase(_same_test_and_id, ("pk_ab_test_variants",)),
    "uq_ab_test_variants_one_control": same(f.make_ab_test_variant, "test_id", is_control=True),
    "uq_ab_test_assignments_test_id_user_id": same(f.make_ab_test_assignment, "test_id", "user_id"),
    "uq_ab_test_results_test_id_variant_id": same(f.make_ab_test_result, "test_id", "variant_id"),
    "uq_campaign_analytics_daily_campaign_id_date": same(f.make_campaign_daily, "campaign_id", "date"),
    "uq_campaign_analytics_segments_campaign_id_segment_name_date": same(
        f.make_campaign_segment, "campaign_id", "segment_name", "date"
    ),
    "uq_campaign_trend_data_campaign_id_period": same(f.make_campaign_trend, "campaign_id", "period"),
    "uq_campaign_event_receipts_reporter_client_event_id": same(
        f.make_campaign_event_receipt, "reporter", "client_event_id"
    ),
    "uq_merchant_categories_name": same(f.make_merchant_category, "name"),
    "uq_merchants_code": same(f.make_merchant, "code"),
    "uq_preferred_merchants_merchant_id": same(f.make_preferred_merchant, "merchant_id"),
    "uq_ml_models_name_version": same(f.make_ml_model, "name", "version"),
    "uq_ml_models_active_per_type": same(f.make_ml_model, "model_type", status="active"),
    "uq_user_merchant_affinity_user_id_merchant_id": same(
        f.make_user_merchant_affinity, "user_id", "merchant_id"
    ),
    "uq_user_optimal_send_times_user_id": same(f.make_user_optimal_send_time, "user_id"),
    "uq_settings_key": same(f.make_setting, "key"),
    "uq_api_keys_prefix": same(f.make_api_key, "prefix"),
    "uq_api_keys_key_hash": same(f.make_api_key, "key_hash"),
    "uq_refresh_tokens_token_hash": same(f.make_refresh_token, "token_hash"),
    "uq_password_reset_tokens_token_hash": same(f.make_password_reset_token, "token_hash"),
    "uq_idempotency_keys_scope_key": same(f.make_idempotency_key, "scope", "key"),
}
UNIQUE_CASES.update(notification_cases.unique_cases(UniqueCase, same))


def _unique_names() -> set[str]:
    # unique=True columns appear as UniqueConstraint in table.constraints.
    indexes = {str(i.name) for t in TABLES for i in t.indexes if isinstance(i, Index) and i.unique}
    return _names(UniqueConstraint) | indexes


def test_every_unique_constraint_and_index_has_a_case() -> None:
    assert set(UNIQUE_CASES) == _unique_names()


@pytest.mark.parametrize("name", sorted(UNIQUE_CASES))
async def test_unique_rejects_duplicate(db: AsyncSession, name: str) -> None:
    case = UNIQUE_CASES[name]
    insert_duplicate = await case.setup(db)
    error = await rejected(db, insert_duplicate, drop_first=case.also_violated)
    assert violated_constraint(error) == name


async def test_partial_unique_indexes_allow_rows_outside_their_predicate(db: AsyncSession) -> None:
    # given a test with a control, a model type with an active version, a transaction that earned
    variant = await f.make_ab_test_variant(db, is_control=True)
    await f.make_ml_model(db, model_type="churn", status="active")
    tx = await f.make_transaction(db)
    await f.make_reward_entry(db, user_id=tx.user_id, transaction_id=tx.id, kind="earn", points=25)

    # when rows outside the indexes' WHERE are added, then they are accepted
    await f.make_ab_test_variant(db, test_id=variant.test_id, is_control=False)
    await f.make_ab_test_variant(db, test_id=variant.test_id, is_control=False)
    await f.make_ml_model(db, model_type="churn", status="deprecated")
    await f.make_ml_model(db, model_type="churn", status="deprecated")
    await f.make_reward_entry(db, user_id=tx.user_id, transaction_id=tx.id, kind="adjust", points=-25)


async def test_rollout_segments_are_distinct_from_the_null_segment(db: AsyncSession) -> None:
    rollout = await f.make_feature_flag_rollout(db, user_segment=None)
    same_variant = {"flag_id": rollout.flag_id, "variant_key": rollout.variant_key}
    await f.make_feature_flag_rollout(db, **same_variant, user_segment="beta")
    await f.make_feature_flag_rollout(db, **same_variant, user_segment="vip")


# FOREIGN KEY ------------------------------------------------------------------------------------

FOREIGN_KEYS: dict[str, ForeignKeyConstraint] = {
    str(fk.name): fk for t in TABLES for fk in t.foreign_key_constraints
}


async def _variant_of_another_test(db: AsyncSession) -> dict[str, Any]:
    # the factory gives the row a test of its own, so this variant belongs to another test
    return {"variant_id": (await f.make_ab_test_variant(db)).id}


async def _missing_user_with_a_real_account(db: AsyncSession) -> dict[str, Any]:
    return {"user_id": MISSING_ID, "account_id": (await f.make_account(db)).id}


async def _missing_test_with_a_real_variant(db: AsyncSession) -> dict[str, Any]:
    return {"test_id": MISSING_ID, **await _variant_of_another_test(db)}


# Overrides of FKs that "point every column at a missing id" cannot express.
FK_OVERRIDES: dict[str, Callable[[AsyncSession], Awaitable[dict[str, Any]]]] = {
    "fk_ab_test_assignments_variant_of_test": _variant_of_another_test,
    "fk_ab_test_results_variant_of_test": _variant_of_another_test,
    "fk_ab_test_assignments_test_id_ab_tests": _missing_test_with_a_real_variant,
    "fk_ab_test_results_test_id_ab_tests": _missing_test_with_a_real_variant,
    "fk_transactions_user_id_users": _missing_user_with_a_real_account,
}


def test_every_foreign_key_has_a_case_and_a_chosen_on_delete() -> None:
    # the insert cases below are generated from metadata; each needs its table's factory
    assert {fk.table.name for fk in FOREIGN_KEYS.values()} <= set(FACTORIES)
    assert set(FK_OVERRIDES) <= set(FOREIGN_KEYS)
    assert {name: fk.ondelete for name, fk in FOREIGN_KEYS.items() if fk.ondelete is None} == {}


@pytest.mark.parametrize("name", sorted(FOREIGN_KEYS))
async def test_foreign_key_rejects_missing_parent(db: AsyncSession, name: str) -> None:
    fk = FOREIGN_KEYS[name]
    if name in FK_OVERRIDES:
        overrides = await FK_OVERRIDES[name](db)
    else:
        overrides = {column.key: MISSING_ID for column in fk.columns}
    # Another FK sharing a column set to a missing id would fail too (the composite FKs imply the
    # simple test_id ones): drop it inside the savepoint so only this one can reject the row.
    missing = {key for key, value in overrides.items() if value == MISSING_ID}
    overlapping = tuple(
        str(other.name)
        for other in fk.table.foreign_key_constraints
        if other is not fk and missing & {c.key for c in other.columns}
    )
    factory = FACTORIES[fk.table.name]

    error = await rejected(db, lambda: factory(db, **overrides), drop_first=overlapping)

    assert violated_constraint(error) == name


async def test_on_delete_matches_the_models(db: AsyncSession) -> None:
    codes = {"CASCADE": "c", "SET NULL": "n", "RESTRICT": "r", "NO ACTION": "a"}
    rows = await db.execute(text("SELECT conname, confdeltype::text FROM pg_constraint WHERE contype = 'f'"))
    in_database: dict[str, str] = {name: kind for name, kind in rows}
    expected = {name: codes[str(fk.ondelete)] for name, fk in FOREIGN_KEYS.items()}
    assert {name: in_database.get(name) for name in expected} == expected


async def test_deleting_a_campaign_cascades_to_its_daily_metrics(db: AsyncSession) -> None:
    day = await f.make_campaign_daily(db)
    await f.make_campaign_daily(db, campaign_id=day.campaign_id, date=day.date + timedelta(days=1))

    await db.execute(delete(Campaign).where(Campaign.id == day.campaign_id))

    remaining = await db.scalar(
        text("SELECT count(*) FROM campaign_analytics_daily WHERE campaign_id = :id"), {"id": day.campaign_id}
    )
    assert remaining == 0


async def test_deleting_a_flag_keeps_its_audit_trail(db: AsyncSession) -> None:
    entry = await f.make_feature_flag_audit_entry(db)
    key = entry.flag_key

    await db.execute(delete(FeatureFlag).where(FeatureFlag.id == entry.flag_id))

    row = (
        await db.execute(
            select(FlagAuditEntry.flag_id, FlagAuditEntry.flag_key).where(FlagAuditEntry.id == entry.id)
        )
    ).one()
    assert tuple(row) == (None, key)


async def test_a_user_with_transactions_cannot_be_deleted(db: AsyncSession) -> None:
    user = await f.make_user(db)
    await f.make_transaction(db, user_id=user.id)

    error = await rejected(db, lambda: db.execute(delete(User).where(User.id == user.id)))

    # the transactions keep the user directly, and through the user's account (which would cascade)
    assert violated_constraint(error) in {
        "fk_transactions_user_id_users",
        "fk_transactions_account_id_accounts",
    }
    assert await db.scalar(select(User.id).where(User.id == user.id)) == user.id


async def test_a_merchant_with_staff_cannot_be_deleted(db: AsyncSession) -> None:
    merchant = await f.make_merchant(db)
    await f.make_user(db, role="merchant", merchant_id=merchant.id)

    error = await rejected(db, lambda: db.execute(delete(Merchant).where(Merchant.id == merchant.id)))

    assert violated_constraint(error) == "fk_users_merchant_id_merchants"


async def test_deleting_a_test_cascades_to_variants_assignments_and_results(db: AsyncSession) -> None:
    assignment = await f.make_ab_test_assignment(db)
    await f.make_ab_test_result(db, test_id=assignment.test_id, variant_id=assignment.variant_id)

    await db.execute(text("DELETE FROM ab_tests WHERE id = :id"), {"id": assignment.test_id})

    counts = await db.execute(
        text(
            "SELECT (SELECT count(*) FROM ab_test_variants WHERE test_id = :id),"
            " (SELECT count(*) FROM ab_test_assignments WHERE test_id = :id),"
            " (SELECT count(*) FROM ab_test_results WHERE test_id = :id)"
        ),
        {"id": assignment.test_id},
    )
    assert tuple(counts.one()) == (0, 0, 0)


async def test_a_campaign_with_ledger_entries_is_kept_by_its_foreign_key(db: AsyncSession) -> None:
    entry = await f.make_reward_entry(db, campaign_id=(await f.make_campaign(db)).id)

    error = await rejected(db, lambda: db.execute(delete(Campaign).where(Campaign.id == entry.campaign_id)))

    assert violated_constraint(error) == "fk_rewards_ledger_campaign_id_campaigns"
