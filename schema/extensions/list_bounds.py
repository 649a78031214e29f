"""How many items each list field that no `first`/`last`/`ids` argument sizes may return, for the cost.

A list sized by nothing used to cost as one item: `dailyMetrics`, `trend` and `segments` of 100
campaigns cost 1,901 and returned 16,902 rows. Each such field has a bound here, the real one where
the API enforces it (the days of the range, the trend's buckets, the variants a test may have), and
a documented one where only the data limits it (a campaign's segments, a user's accounts): those are
the sizes this API is built for, so a query is costed as if it met them. `tests/limits` walks the
schema and fails on a list field of objects that has no bound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from loaders.analytics import Granularity
from models.notifications import Category, Channel, DeliveryStatus
from resolvers.analytics.reads import OVERVIEW_TOP
from resolvers.experiments.validation import MAX_VARIANTS
from resolvers.flags.reads import MAX_EVALUATION_KEYS
from resolvers.flags.variant_writes import GROUP_MAX
from schema.analytics.types import DEFAULT_RANGE_DAYS, MAX_RANGE_DAYS

# Documented bounds: what one parent is expected to hold at most (not enforced by a write).
SEGMENTS_PER_CAMPAIGN = 20
EXPERIMENTS_PER_CAMPAIGN = 5
OPTIMIZATIONS_PER_CAMPAIGN = 10
ACCOUNTS_PER_USER = 10
ASSIGNMENTS_PER_USER = 50
MERCHANT_CATEGORIES = 50
# A flag's general variants and each segment's, GROUP_MAX per group; a few groups per flag.
ROLLOUTS_PER_FLAG = 2 * GROUP_MAX
HOURS_PER_DAY = 24
# A row per (queue, task) of the job engine: the tasks jobs/ registers, on their queues.
JOB_KINDS = 20
# NOTIFICATION_MAX_DEVICES_PER_USER may not exceed this (core/settings.py).
DEVICES_PER_USER = 50
PREFERENCES = len(Channel) * len(Category)
DELIVERY_STATES = len(Channel) * len(DeliveryStatus)
RANGE_ARGUMENT = "range"
# Every argument a bound below reads (cost_variables.py coerces only the variables these may hold).
BOUND_ARGUMENTS = frozenset({RANGE_ARGUMENT, "granularity", "keys"})

# (the field's arguments, the days of the nearest range argument at or above it) -> items
Bound = Callable[[Mapping[str, Any], int], int]


def range_days(arguments: Mapping[str, Any], inherited: int) -> int:
    """Days of the field's `range` argument (both ends included; null: the default range), or, for a
    field without one, of the range above it."""
    if RANGE_ARGUMENT not in arguments:
        return inherited
    value = arguments[RANGE_ARGUMENT]
    if not isinstance(value, Mapping):
        return DEFAULT_RANGE_DAYS
    start, end = value.get("start"), value.get("end")
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        return DEFAULT_RANGE_DAYS
    # An inverted or too long range is refused at execution; costing stays within the allowed span.
    return min(MAX_RANGE_DAYS, max(1, (end - start).days + 1))


def _trend_buckets(arguments: Mapping[str, Any], inherited: int) -> int:
    days = range_days(arguments, inherited)
    granularity = arguments.get("granularity")
    if granularity is Granularity.HOUR:
        return days * HOURS_PER_DAY
    if granularity is Granularity.DAY:
        return days
    # ISO weeks touched by `days` consecutive days: a partial week at each end.
    return (days + 6) // 7 + 1


def _evaluated_flags(arguments: Mapping[str, Any], inherited: int) -> int:
    keys = arguments.get("keys")
    return len(keys) if isinstance(keys, list) else MAX_EVALUATION_KEYS


def _fixed(items: int) -> Bound:
    return lambda arguments, inherited: items


LIST_BOUNDS: dict[str, Bound] = {
    "Campaign.dailyMetrics": range_days,
    "Campaign.trend": _trend_buckets,
    "Campaign.segments": _fixed(SEGMENTS_PER_CAMPAIGN),
    "Campaign.experiments": _fixed(EXPERIMENTS_PER_CAMPAIGN),
    "Campaign.optimizations": _fixed(OPTIMIZATIONS_PER_CAMPAIGN),
    "FeatureFlag.usage": range_days,
    "FeatureFlag.rollouts": _fixed(ROLLOUTS_PER_FLAG),
    "FlagUsageReport.days": range_days,
    "FlagVariantsPayload.variants": _fixed(GROUP_MAX),
    "Experiment.variants": _fixed(MAX_VARIANTS),
    "ExperimentResults.variants": _fixed(MAX_VARIANTS),
    "PlatformOverview.topCampaigns": _fixed(OVERVIEW_TOP),
    "User.accounts": _fixed(ACCOUNTS_PER_USER),
    "Query.evaluateFlags": _evaluated_flags,
    "Subscription.flagsChanged": _evaluated_flags,
    "Query.myExperimentAssignments": _fixed(ASSIGNMENTS_PER_USER),
    "Query.merchantCategories": _fixed(MERCHANT_CATEGORIES),
    "Query.jobQueues": _fixed(JOB_KINDS),
    "Query.myDevices": _fixed(DEVICES_PER_USER),
    "NotificationSettings.preferences": _fixed(PREFERENCES),
    "NotificationCounts.deliveries": _fixed(DELIVERY_STATES),
}
DEFAULT_DAYS = DEFAULT_RANGE_DAYS


def list_bound(type_name: str, field_name: str, arguments: Mapping[str, Any], days: int) -> int | None:
    """The most items the field returns (None: not a list this table bounds)."""
    bound = LIST_BOUNDS.get(f"{type_name}.{field_name}")
    return None if bound is None else bound(arguments, days)
