"""Lists that no page argument sizes are costed by their bound: a query's cost covers the rows it returns.

Before, `dailyMetrics`, `trend` and `segments` cost one item each: 100 campaigns of them cost 1,901
and returned 16,902 rows (1.7 MB).
"""

from __future__ import annotations

import datetime as dt

from graphql import get_named_type, get_nullable_type, is_list_type, is_object_type, parse
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from core.viewer import Role, Viewer
from schema import schema
from schema.extensions.cost import PAGE_ARGUMENTS, SIZING_LIST_ARGUMENTS, query_cost
from schema.extensions.list_bounds import LIST_BOUNDS
from tests.analytics.support import campaign_gid, running_campaign
from tests.limits.support import codes, run
from tests.models import factories as f
from tests.support import counting_on
from tests.test_readme import EXAMPLES

ADMIN = Viewer(role=Role.ADMIN, user_id=1)
START = dt.date(2024, 3, 1)
DAYS = 30
HOURS = 48
# One campaign's days, hours and segments: 30 + 48 + 3 items of 3 fields each.
SERIES = """
query Series($id: ID!, $days: DateRangeInput!, $hours: DateRangeInput!) {
  campaign(id: $id) {
    dailyMetrics(range: $days) { date clicks impressions }
    trend(granularity: HOUR, range: $hours) { period clicks impressions }
    segments(range: $days) { segmentName users clicks }
  }
}
"""
# What the probe sent: every campaign's year of days, month of hours and segments, 20 at a time.
EVERY_SERIES = """
{ campaigns(first: 20) { edges { node {
    dailyMetrics(range: {start: "2024-01-01", end: "2024-12-31"}) { date clicks impressions }
    trend(granularity: HOUR, range: {start: "2024-01-01", end: "2024-01-31"}) { period clicks impressions }
    segments { segmentName users clicks }
} } } }
"""


def _range(start: dt.date, days: int) -> dict[str, str]:
    return {"start": start.isoformat(), "end": (start + dt.timedelta(days=days - 1)).isoformat()}


def test_every_list_of_objects_has_a_bound() -> None:
    # given every field of the schema that returns a list of objects
    unbounded = []
    for type_name, graphql_type in schema._schema.type_map.items():
        if type_name.startswith("__") or not is_object_type(graphql_type):
            continue
        for name, field in graphql_type.fields.items():
            listed = get_nullable_type(field.type)
            if not is_list_type(listed) or not hasattr(get_named_type(field.type), "fields"):
                continue
            sized = any(arg in field.args for arg in (*PAGE_ARGUMENTS, *SIZING_LIST_ARGUMENTS))
            paged = type_name.endswith("Connection") and name == "edges"
            if not (sized or paged or name == "userErrors" or f"{type_name}.{name}" in LIST_BOUNDS):
                unbounded.append(f"{type_name}.{name}")
    # then each is sized by its arguments, is a page, or has a bound in list_bounds.py
    assert unbounded == []


async def test_the_cost_covers_the_rows_a_query_returns(db: AsyncSession, settings: Settings) -> None:
    # given a campaign with a row for every day and hour asked for, and three segments
    campaign = await running_campaign(db)
    for day in range(DAYS):
        await f.make_campaign_daily(db, campaign_id=campaign.id, date=START + dt.timedelta(days=day))
    for hour in range(HOURS):
        moment = dt.datetime.combine(START, dt.time(), tzinfo=dt.UTC) + dt.timedelta(hours=hour)
        await f.make_campaign_trend(db, campaign_id=campaign.id, period=moment)
    for name in ("new_users", "loyal_customers", "at_risk"):
        await f.make_campaign_segment(db, campaign_id=campaign.id, segment_name=name, date=START)
    # when its series are read
    variables = {
        "id": campaign_gid(campaign.id),
        "days": _range(START, DAYS),
        "hours": _range(START, HOURS // 24),
    }
    result = await run(SERIES, variables, db=db, settings=settings, viewer=ADMIN)
    # then every row came back, and the cost paid for each of their values
    assert result.errors is None, result.errors
    node = result.data["campaign"]  # type: ignore[index]
    returned = [len(node["dailyMetrics"]), len(node["trend"]), len(node["segments"])]
    assert returned == [DAYS, HOURS, 3]
    values = 3 * sum(returned)
    assert result.extensions["cost"]["requestedQueryCost"] >= values  # type: ignore[index]


async def test_every_series_of_twenty_campaigns_is_refused_before_any_sql(
    db: AsyncSession, settings: Settings
) -> None:
    # when the year of days, month of hours and segments of 20 campaigns are asked for at once
    async with counting_on(db) as statements:
        result = await run(EVERY_SERIES, db=db, settings=settings, viewer=ADMIN)
    # then the cost counts their values (20 x (366 + 744 + 20) x 3 and more), over the limit: no SQL ran
    assert codes(result) == ["QUERY_TOO_COMPLEX"]
    assert result.errors[0].extensions["cost"] > 20 * (366 + 744 + 20) * 3  # type: ignore[index]
    assert statements == []


def test_the_readme_examples_cost_less_than_the_default_limit(settings: Settings) -> None:
    # the dashboard queries the README shows must run as they are, list bounds and all
    costs = [query_cost(schema._schema, parse(document)) for document in EXAMPLES]
    assert all(0 < cost <= settings.graphql_max_cost for cost in costs), costs
