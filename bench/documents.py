"""The three requests `bench.compare` sends to the server and to the floor: frozen documents, the
variables of each, and who sends them. The floor recognises a request by its document's exact text.

1. the campaigns page of README query 1 (admin), over the last 30 days ending today (UTC);
2. the flat list, 50 campaigns' id and name (admin);
3. evaluateFlags as a customer, with the fields the mobile app reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from core.tokens import mint_access_token
from core.viewer import Role

# README query 1, its literal range passed as a variable so every request carries today's window.
CAMPAIGNS_PAGE = """query CampaignsPage($range: DateRangeInput!) {
  campaigns(first: 50, filter: {status: [RUNNING]}, sort: {field: NAME, descending: false}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id name type budget startsAt endsAt
      merchant { name city category { name colorCode } }
      experiments { key status variants { key weight } }
      dailyMetrics(range: $range) { date impressions clicks revenue }
      performance(range: $range) {
        impressions clicks conversions revenue spend
        clickThroughRate conversionRate roas roi averageOrderValue
      }
    } }
  }
}"""

FLAT_LIST = "{ campaigns(first: 50) { edges { node { id name } } } }"

EVALUATE_FLAGS = """query Flags($context: FlagContextInput!) {
  evaluateFlags(context: $context) { key value variant variantValue reason errorCode }
}"""

# What the mobile app sends: its session and the customer's segment (rollouts may target it).
APP_CONTEXT = {"sessionId": "bench-app-session", "segment": "platinum", "appType": "MOBILE"}
RANGE_DAYS = 30


@dataclass(frozen=True)
class Request:
    """One benchmark request: a name for the table, the JSON body, and the viewer's role."""

    name: str
    body: dict[str, Any]
    role: Role


def last_days(today: dt.date, days: int = RANGE_DAYS) -> dict[str, str]:
    """The DateRangeInput of the `days` days ending `today`, as bench/dashboard.py asks."""
    return {"start": (today - dt.timedelta(days=days - 1)).isoformat(), "end": today.isoformat()}


def requests(today: dt.date) -> list[Request]:
    """The three requests, each the same body every time it is sent."""
    return [
        Request(
            "query 1 (campaigns page)",
            {"query": CAMPAIGNS_PAGE, "variables": {"range": last_days(today)}},
            Role.ADMIN,
        ),
        Request("flat list", {"query": FLAT_LIST}, Role.ADMIN),
        Request(
            "evaluateFlags (customer)",
            {"query": EVALUATE_FLAGS, "variables": {"context": APP_CONTEXT}},
            Role.CUSTOMER,
        ),
    ]


def bearer(secret: str, *, role: Role, user_id: int, ttl: dt.timedelta = dt.timedelta(hours=2)) -> str:
    """An Authorization header value for `user_id` in `role`, signed with the servers' secret."""
    return "Bearer " + mint_access_token(secret=secret, user_id=user_id, role=role, ttl=ttl)
