"""The earning rule: how many reward points one card transaction earns. Pure: no I/O, no clock.

Units. One point is worth one cent of rewards (100 points = 1.00 of the transaction's currency;
amounts are not converted between currencies).

    points = floor(amount × tier multiplier)                       the tier earning
           + floor(amount × cashback_percent)                      a cashback campaign's bonus

- Tier multipliers: bronze 1, silver 1.25, gold 1.5, platinum 2 points per unit of currency spent
  (1% to 2% back). The tier is the user's tier when the transaction is recorded.
- The bonus applies when a RUNNING campaign of type CASHBACK for the transaction's merchant covers
  the time it occurred (starts_at <= occurred_at < ends_at). `cashback_percent` p means p% of the
  amount, paid as points: p% of 100.00 is p × 100 cents, i.e. floor(amount × p) points (5% of
  100.00 = 5.00 = 500 points). Only one campaign pays: the highest percentage (then the lowest id),
  chosen by the caller.
- Each part is floored on its own, so a part never pays a fraction of a point.
- Only POSTED transactions earn: pending ones have not settled, declined and refunded ones never
  count. A transaction earning 0 points (an amount under 1.00 at bronze) writes no ledger entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from models.users import LoyaltyTier, TransactionStatus

TIER_MULTIPLIERS: dict[LoyaltyTier, Decimal] = {
    LoyaltyTier.BRONZE: Decimal("1"),
    LoyaltyTier.SILVER: Decimal("1.25"),
    LoyaltyTier.GOLD: Decimal("1.5"),
    LoyaltyTier.PLATINUM: Decimal("2"),
}


class EarnReason(StrEnum):
    NOT_POSTED = "not_posted"
    TIER = "tier"
    TIER_AND_CASHBACK = "tier_and_cashback"
    TOO_SMALL = "too_small"


@dataclass(frozen=True, slots=True)
class Earning:
    """Points earned by one transaction, split into the tier part and the campaign bonus."""

    base: int
    bonus: int
    reason: EarnReason

    @property
    def points(self) -> int:
        return self.base + self.bonus

    def describe(self) -> str:
        """The ledger entry's description (no personal data)."""
        if self.bonus:
            return f"Card transaction: {self.base} tier + {self.bonus} cashback points"
        return f"Card transaction: {self.base} tier points"


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def earn(
    *,
    amount: Decimal,
    tier: LoyaltyTier | str,
    status: TransactionStatus | str,
    cashback_percent: Decimal | None = None,
) -> Earning:
    """The points a transaction of `amount` earns a user of `tier` (see the module docstring)."""
    if TransactionStatus(status) is not TransactionStatus.POSTED:
        return Earning(base=0, bonus=0, reason=EarnReason.NOT_POSTED)
    base = _floor(amount * TIER_MULTIPLIERS[LoyaltyTier(tier)])
    bonus = _floor(amount * cashback_percent) if cashback_percent else 0
    if base + bonus <= 0:
        return Earning(base=0, bonus=0, reason=EarnReason.TOO_SMALL)
    return Earning(base=base, bonus=bonus, reason=EarnReason.TIER_AND_CASHBACK if bonus else EarnReason.TIER)
