"""Marketing rates, always from summed counts (never averages of per-day ratios)."""

from __future__ import annotations

from decimal import Decimal


def ratio(numerator: float | Decimal | int, denominator: float | Decimal | int) -> float | None:
    """numerator / denominator, or None when the denominator is zero (a rate of nothing is unknown)."""
    if not denominator:
        return None
    return float(numerator) / float(denominator)


def click_through_rate(*, clicks: int, impressions: int) -> float | None:
    return ratio(clicks, impressions)


def conversion_rate(*, conversions: int, clicks: int) -> float | None:
    # Conversions per click, as the seed audit defines CR.
    return ratio(conversions, clicks)


def roas(*, revenue: Decimal, spend: Decimal) -> float | None:
    return ratio(revenue, spend)


def roi(*, revenue: Decimal, spend: Decimal) -> float | None:
    return ratio(revenue - spend, spend)


def average_order_value(*, revenue: Decimal, conversions: int) -> Decimal | None:
    if not conversions:
        return None
    return (revenue / conversions).quantize(Decimal("0.01"))


def retention_rate(*, retained_users: int, users: int) -> float | None:
    return ratio(retained_users, users)
