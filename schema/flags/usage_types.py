"""GraphQL types of flag usage analytics: daily rows, totals over a range, per-flag reports."""

from __future__ import annotations

import datetime as dt

import strawberry

from core.context import Ctx
from core.policies import FLAG_ANALYTICS_READERS
from loaders.flags import DailyUsageByFlagLoader, UsageTotals, UsageTotalsByFlagLoader
from models.flags import FlagDailyAnalytics
from resolvers.rates import ratio
from schema.caching.hints import cache_hint
from schema.permissions import allow, type_policy

# Staff, and internal services (which see flag keys and usage, not flag configuration).


@cache_hint(max_age=60)
@type_policy(FLAG_ANALYTICS_READERS)
@strawberry.type(description="One UTC day of a flag's usage, from the daily rollup.")
class FlagUsageDay:
    date: dt.date = strawberry.field(description="The day (UTC).")
    total_users: int = strawberry.field(description="Distinct users who checked the flag that day.")
    total_checks: int = strawberry.field(description="Times the flag was checked.")
    enabled_count: int = strawberry.field(description="Checks that returned on.")
    disabled_count: int = strawberry.field(description="Checks that returned off.")
    error_count: int = strawberry.field(description="Checks that failed (the app used its default).")
    cache_hit_rate: float | None = strawberry.field(description="Cache hits / checks; null without checks.")
    avg_response_time_ms: float | None = strawberry.field(
        description="Total response time / checks, in ms; null without checks."
    )
    error_rate: float | None = strawberry.field(description="Errors / checks; null without checks.")

    @classmethod
    def from_row(cls, row: FlagDailyAnalytics) -> FlagUsageDay:
        return cls(
            date=row.date,
            total_users=row.total_users,
            total_checks=row.total_checks,
            enabled_count=row.enabled_count,
            disabled_count=row.disabled_count,
            error_count=row.error_count,
            cache_hit_rate=ratio(row.cache_hits, row.total_checks),
            avg_response_time_ms=ratio(row.response_time_ms_total, row.total_checks),
            error_rate=ratio(row.error_count, row.total_checks),
        )


@cache_hint(max_age=60)
@type_policy(FLAG_ANALYTICS_READERS)
@strawberry.type(description="A flag's usage summed over a range, and the rates computed from the sums.")
class FlagUsageSummary:
    start: dt.date = strawberry.field(description="First day of the range.")
    end: dt.date = strawberry.field(description="Last day of the range.")
    days_with_usage: int = strawberry.field(description="Days of the range the rollup has a row for.")
    user_days: int = strawberry.field(
        description="Sum of each day's distinct users: a user checking on 3 days counts 3 times."
    )
    peak_daily_users: int = strawberry.field(description="Most distinct users on one day of the range.")
    total_checks: int = strawberry.field(description="Sum of checks.")
    enabled_count: int = strawberry.field(description="Sum of checks that returned on.")
    disabled_count: int = strawberry.field(description="Sum of checks that returned off.")
    error_count: int = strawberry.field(description="Sum of failed checks.")
    cache_hit_rate: float | None = strawberry.field(description="Cache hits / checks over the range.")
    avg_response_time_ms: float | None = strawberry.field(
        description="Total response time / checks over the range, in ms."
    )
    error_rate: float | None = strawberry.field(description="Errors / checks over the range.")

    @classmethod
    def from_totals(cls, totals: UsageTotals, start: dt.date, end: dt.date) -> FlagUsageSummary:
        t = totals
        return cls(
            start=start,
            end=end,
            days_with_usage=t.days,
            user_days=t.user_days,
            peak_daily_users=t.peak_daily_users,
            total_checks=t.total_checks,
            enabled_count=t.enabled_count,
            disabled_count=t.disabled_count,
            error_count=t.error_count,
            cache_hit_rate=ratio(t.cache_hits, t.total_checks),
            avg_response_time_ms=ratio(t.response_time_ms_total, t.total_checks),
            error_rate=ratio(t.error_count, t.total_checks),
        )


async def usage_days(info: Ctx, flag_id: int, start: dt.date, end: dt.date) -> list[FlagUsageDay]:
    rows = await info.context.loader(DailyUsageByFlagLoader).load((flag_id, start, end))
    return [FlagUsageDay.from_row(row) for row in rows]


async def usage_summary(info: Ctx, flag_id: int, start: dt.date, end: dt.date) -> FlagUsageSummary:
    totals = await info.context.loader(UsageTotalsByFlagLoader).load((flag_id, start, end))
    return FlagUsageSummary.from_totals(totals, start, end)


@cache_hint(max_age=60)
@type_policy(FLAG_ANALYTICS_READERS)
@strawberry.type(description="One flag's usage over the range asked of `flagUsage`.")
class FlagUsageReport:
    flag_key: str = strawberry.field(description="Key of the flag.")
    flag_name: str = strawberry.field(description="Display name of the flag.")
    start: dt.date = strawberry.field(description="First day of the range.")
    end: dt.date = strawberry.field(description="Last day of the range.")
    flag_id: strawberry.Private[int]

    @strawberry.field(
        description="Totals and rates over the range.", permission_classes=[allow(FLAG_ANALYTICS_READERS)]
    )
    async def summary(self, info: Ctx) -> FlagUsageSummary | None:
        return await usage_summary(info, self.flag_id, self.start, self.end)

    @strawberry.field(
        description="Daily rows of the range, by date (days without usage are absent).",
        permission_classes=[allow(FLAG_ANALYTICS_READERS)],
    )
    async def days(self, info: Ctx) -> list[FlagUsageDay] | None:
        return await usage_days(info, self.flag_id, self.start, self.end)
