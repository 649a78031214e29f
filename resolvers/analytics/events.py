"""Campaign events as they arrive, the bounds of their values, and the checks of those values.

With the time window (resolvers/analytics/writes.py) these bounds are what make a day's counters
impossible to overflow (`revenue_sum` in models/analytics.py): every value an event carries, and
the events of one call, are bounded before anything is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from resolvers.outcomes import ProblemCode, Problems

MAX_EVENTS = 500
# One conversion's revenue.
MAX_EVENT_REVENUE = Decimal("1000000.00")
SEGMENT_MAX = 100
CLIENT_EVENT_ID_MAX = 64
CENT = Decimal("0.01")


class CampaignEventType(StrEnum):
    IMPRESSION = "impression"
    CLICK = "click"
    CONVERSION = "conversion"


# What a customer's device may report; conversions (and revenue) come from trusted sources only.
APP_EVENT_TYPES = frozenset({CampaignEventType.IMPRESSION, CampaignEventType.CLICK})


@dataclass(frozen=True, slots=True)
class CampaignEvent:
    """One event; `campaign_id` is None when the id given was not a campaign's."""

    campaign_id: int | None
    type: CampaignEventType
    occurred_at: dt.datetime
    segment: str | None = None
    revenue: Decimal | None = None
    # The reporter's own id of the event: a retry carrying it again is counted once.
    client_event_id: str | None = None

    @property
    def day(self) -> dt.date:
        return utc(self.occurred_at).date()


def utc(moment: dt.datetime) -> dt.datetime:
    """The moment in UTC; a time without offset is taken as UTC (the API's convention)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _printable(problems: Problems, field: str, value: str, what: str) -> None:
    # PostgreSQL text holds no NUL, and no name needs a control character.
    if not value.strip():
        problems.add(field, f"Omit the {what} rather than sending a blank one.")
    elif any(ord(c) < 32 or ord(c) == 127 for c in value):
        problems.add(field, f"The {what} has a control character.")


def check_values(index: int, event: CampaignEvent, *, trusted: bool, problems: Problems) -> None:
    """Add the problems of one event's values; only `trusted` sources send conversions and revenue."""
    at = f"events.{index}."
    for name, value, limit in (
        ("segment", event.segment, SEGMENT_MAX),
        ("client_event_id", event.client_event_id, CLIENT_EVENT_ID_MAX),
    ):
        if value is not None:
            _printable(problems, at + name, value, name.replace("_", " "))
            problems.require_length(at + name, value, max_length=limit)
    if not trusted:
        if event.type not in APP_EVENT_TYPES:
            problems.add(at + "type", "Conversions come from services, not the app.", ProblemCode.FORBIDDEN)
        if event.revenue is not None:
            problems.add(at + "revenue", "Revenue comes from services, not the app.", ProblemCode.FORBIDDEN)
        return
    revenue = event.revenue
    if revenue is None:
        return
    if event.type is not CampaignEventType.CONVERSION:
        problems.add(at + "revenue", "Only a CONVERSION has revenue.")
    elif not revenue.is_finite():
        problems.add(at + "revenue", "An amount with at most 2 decimals.")
    elif revenue < 0 or revenue > MAX_EVENT_REVENUE:
        # Before quantize: a huge exponent (1e400) has no 2-decimal form within Decimal's precision.
        problems.require_range(at + "revenue", revenue, low=Decimal(0), high=MAX_EVENT_REVENUE)
    elif revenue != revenue.quantize(CENT):
        problems.add(at + "revenue", "An amount with at most 2 decimals.")
