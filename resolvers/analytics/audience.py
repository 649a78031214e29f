"""Whom a campaign's audience includes, as far as the data model knows: the rule for customers' events.

A campaign's `target_segment` is free text. What the database knows of a customer that a segment can
be decided from is their loyalty tier and when the account was made, so:

- no target segment (or a blank one), or `all_users`: everyone;
- a tier (`bronze`, `silver`, `gold`, `platinum`): customers of that tier;
- `<tier>_and_above` (`gold_and_above`): that tier and the ones above it;
- `new_users`: accounts made in the last 30 days;
- any other segment (`loyal_customers`, `high_value`, `at_risk`, ...) is decided outside this
  database (a CRM, the ML pipeline): no customer is known to be in it, so only a service reports
  its events.

Names match without regard to case or surrounding spaces. The same segments are the ones a
customer's event may count under in the segment metrics: a device cannot file itself elsewhere.
No I/O here: the caller reads the customer once per batch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models.users import LoyaltyTier

EVERYONE = "all_users"
NEW_USERS = "new_users"
NEW_USER_AGE = dt.timedelta(days=30)
AND_ABOVE = "_and_above"
# Lowest first: a tier's "and above" segments are its own and those of the tiers below it.
TIERS = tuple(LoyaltyTier)


@dataclass(frozen=True, slots=True)
class Member:
    """What the data model knows of a customer, for deciding segments."""

    loyalty_tier: str
    joined_at: dt.datetime


def normal(segment: str) -> str:
    return segment.strip().lower()


def segments_of(member: Member, *, now: dt.datetime) -> frozenset[str]:
    """Every segment the customer is known to be in."""
    rank = TIERS.index(LoyaltyTier(member.loyalty_tier))
    known = {EVERYONE, TIERS[rank].value, *(tier.value + AND_ABOVE for tier in TIERS[: rank + 1])}
    if now - member.joined_at < NEW_USER_AGE:
        known.add(NEW_USERS)
    return frozenset(known)


def in_audience(target_segment: str | None, segments: frozenset[str]) -> bool:
    """Whether a campaign aimed at `target_segment` reaches a customer in `segments`."""
    if target_segment is None or not target_segment.strip():
        return True
    return normal(target_segment) in segments
