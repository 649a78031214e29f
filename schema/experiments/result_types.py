"""GraphQL types of an experiment's results: per-variant figures, the split check and the decision."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from core.policies import STAFF
from resolvers.experiments import reads as experiment_resolvers
from resolvers.experiments import statistics
from schema.caching.hints import cache_hint
from schema.permissions import allow, type_policy

ResultsSource = strawberry.enum(
    experiment_resolvers.ResultsSource,
    description="LIVE: computed now from the assignments; SNAPSHOT: stored when the test completed.",
)


@cache_hint(max_age=300)
@type_policy(STAFF)
@strawberry.type(description="One variant's figures and, except for the control, its comparison with it.")
class VariantResult:
    key: str = strawberry.field(description="Key of the variant.")
    is_control: bool = strawberry.field(description="Whether this is the control.")
    users: int = strawberry.field(description="Users assigned.")
    converted_users: int = strawberry.field(description="Users who converted at least once.")
    conversions: int = strawberry.field(description="Conversions, all users together.")
    conversion_rate: float | None = strawberry.field(
        description="Converted users / users; null without users."
    )
    revenue: Decimal = strawberry.field(description="Revenue of its users, USD.")
    revenue_per_user: Decimal | None = strawberry.field(
        description="Revenue / users, USD; null without users."
    )
    uplift: float | None = strawberry.field(
        description="Relative uplift of the conversion rate over the control."
    )
    ci_lower: float | None = strawberry.field(
        description="Lower bound of the uplift's interval at the test's confidence level."
    )
    ci_upper: float | None = strawberry.field(
        description="Upper bound of the uplift's interval at the test's confidence level."
    )
    p_value: float | None = strawberry.field(description="Two-sided p-value, two-proportion z-test.")
    p_value_adjusted: float | None = strawberry.field(description="p-value after Holm's correction.")
    revenue_uplift: float | None = strawberry.field(
        description="Relative uplift of revenue per user (live results only)."
    )
    revenue_p_value: float | None = strawberry.field(
        description="Two-sided p-value, Welch t-test on revenue."
    )
    is_significant: bool = strawberry.field(description="Adjusted p-value below 1 - confidence level.")
    note: str | None = strawberry.field(description="Why a figure is missing, if one is.")

    @classmethod
    def from_result(cls, r: statistics.VariantResult) -> VariantResult:
        return cls(
            key=r.key,
            is_control=r.is_control,
            users=r.users,
            converted_users=r.converted_users,
            conversions=r.conversions,
            conversion_rate=r.conversion_rate,
            revenue=r.revenue,
            revenue_per_user=r.revenue_per_user,
            uplift=r.uplift,
            ci_lower=r.ci_lower,
            ci_upper=r.ci_upper,
            p_value=r.p_value,
            p_value_adjusted=r.p_value_adjusted,
            revenue_uplift=r.revenue_uplift,
            revenue_p_value=r.revenue_p_value,
            is_significant=r.is_significant,
            note=r.reason,
        )


@cache_hint(max_age=300)
@type_policy(STAFF)
@strawberry.type(description="Whether users split across variants as the weights say (chi-square test).")
class SampleRatioMismatch:
    chi_square: float | None = strawberry.field(description="Chi-square statistic (live results only).")
    p_value: float | None = strawberry.field(description="p-value of the split against the weights.")
    mismatch: bool = strawberry.field(description="p-value below 0.001: assignment is likely broken.")
    warning: str | None = strawberry.field(description="What is wrong, when there is a mismatch.")


@cache_hint(max_age=300)
@type_policy(STAFF)
@strawberry.type(description="An experiment's results: every variant against the control, and the decision.")
class ExperimentResults:
    computed_at: dt.datetime = strawberry.field(description="When they were computed (UTC).")
    source: ResultsSource = strawberry.field(description="Live from the assignments, or the stored snapshot.")
    variants: list[VariantResult] | None = strawberry.field(
        description="Per variant, control first.", permission_classes=[allow(STAFF)]
    )
    sample_ratio_mismatch: SampleRatioMismatch | None = strawberry.field(
        description="Split check; null when the test cannot be analysed.", permission_classes=[allow(STAFF)]
    )
    required_sample_size: int | None = strawberry.field(
        description="Users needed per variant, from baseline rate, MDE, power and confidence."
    )
    winner: str | None = strawberry.field(
        description="Key of the winning variant: significant after correction, with the sample size reached."
    )
    winner_reason: str = strawberry.field(description="Why that variant won, or why none did.")

    @classmethod
    def from_results(cls, r: experiment_resolvers.ExperimentResults) -> ExperimentResults:
        srm = r.sample_ratio
        return cls(
            computed_at=r.computed_at,
            source=r.source,
            variants=[VariantResult.from_result(v) for v in r.variants],
            sample_ratio_mismatch=None
            if srm is None
            else SampleRatioMismatch(
                chi_square=srm.chi_square, p_value=srm.p_value, mismatch=srm.mismatch, warning=srm.warning
            ),
            required_sample_size=r.required_sample_size,
            winner=r.winner,
            winner_reason=r.winner_reason,
        )
