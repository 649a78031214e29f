"""Analytics writes: the counters they feed are served within their max age by design.

The tables of `STALE_WITHIN` (core/response_invalidation.py) are written continuously: an answer that
read them is kept at most the table's bound. Flag checks do not drop entries at all; the campaign
counters are written by the event fold (a job worker's, run here by `api.fold`), which drops the
entries made of what it counted. What is asserted here is that documented behaviour:
the entry's maxAge is at most the bound, a read after the write is either that entry, no older than
its maxAge, or the fresh answer; and the rest of such an answer is still dropped by its own writes (a
renamed campaign shows at once, its counters with it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import redis.asyncio as aioredis

from core.response_invalidation import tags_prefix
from schema.caching.cache import STALE_WITHIN
from tests.caching.freshness import (  # noqa: F401 - the `api` and `staff` fixtures
    Api,
    Headers,
    Read,
    api_fixture,
    assert_fresh,
    fresh_after,
    gid,
    mutation,
    read,
    rows,
    staff_fixture,
)
from tests.jobs.support import job_settings, running_worker, wait_until
from tests.models import factories as f

NOW = dt.datetime.now(dt.UTC)
AT = (NOW - dt.timedelta(hours=2)).replace(minute=10, second=0, microsecond=0)
CAMPAIGN_COUNTERS = STALE_WITHIN["campaign_analytics_daily"]
FLAG_COUNTERS = STALE_WITHIN["feature_flag_usage"]
PERFORMANCE = """
query ($id: ID!) {
  campaign(id: $id) {
    name performance { impressions clicks spend } dailyMetrics { date impressions spend }
  }
}
"""
OVERVIEW = "{ platformOverview { totals { impressions } topCampaigns { rank } } }"
TOP = "{ topCampaigns(metric: IMPRESSIONS, first: 3) { rank value } }"
FLAG_USAGE = "query ($key: String!) { flag(key: $key) { usageSummary { totalChecks } } }"
CREATE_KEY = """
mutation { createApiKey(input: {name: "ingestion", role: SERVICE}) { key userErrors { code } } }
"""


@pytest.fixture(scope="module")
async def service(api: Api, staff: dict[str, Headers]) -> Headers:
    """A service API key (the ingestion pipeline's)."""
    created = await api.write(staff["admin"], CREATE_KEY)
    return {"x-api-key": created["key"]}


async def within_bound(api: Api, r: Read, bound: int, write: Any) -> None:
    """The entry is kept at most `bound` seconds; after `write`, a read is that entry within its max
    age, or the fresh answer."""
    first = await read(api, r)
    assert 0 < first.cache["maxAge"] <= bound, first.cache
    assert first.cache_control in ("private, no-cache", f"public, max-age={first.cache['maxAge']}")
    kept = await read(api, r)
    assert kept.cache["hit"] is True

    await write()
    after = await read(api, r)

    if after.cache.get("hit"):
        assert after.data == kept.data and after.cache["age"] <= after.cache["maxAge"] <= bound
    else:
        await assert_fresh(api, r, after)


async def _live_campaign(api: Api) -> Any:
    merchant = await rows(api, f.make_merchant)
    return await rows(
        api, f.make_campaign, status="running", merchant_id=merchant.id,
        starts_at=NOW - dt.timedelta(days=30), ends_at=NOW + dt.timedelta(days=30),
    )  # fmt: skip


def _record(api: Api, service: Headers, campaign_id: int, n: int) -> Any:
    event = {"campaignId": gid("Campaign", campaign_id), "type": "IMPRESSION", "occurredAt": AT.isoformat()}
    return mutation(api, service, "recordCampaignEvents", events=[event] * n)


def _events(api: Api, service: Headers, campaign_id: int, n: int = 3) -> Any:
    """Record `n` events, and count them as the job workers' fold does a moment later."""
    record = _record(api, service, campaign_id, n)

    async def record_then_fold() -> None:
        await record()
        await api.fold()

    return record_then_fold


async def test_events_reach_campaign_dashboards_within_the_bound(
    api: Api, staff: dict[str, Headers], service: Headers
) -> None:
    campaign = await _live_campaign(api)
    reads = [
        Read(staff["marketer"], PERFORMANCE, {"id": gid("Campaign", campaign.id)}),
        Read(staff["marketer"], OVERVIEW),
        Read(staff["admin"], TOP),
    ]

    for r in reads:
        await within_bound(api, r, CAMPAIGN_COUNTERS, _events(api, service, campaign.id))


async def test_spend_reaches_the_daily_metrics_within_the_bound(api: Api, staff: dict[str, Headers]) -> None:
    campaign = await _live_campaign(api)
    spend = mutation(
        api, staff["marketer"], "recordCampaignSpend",
        campaignId=gid("Campaign", campaign.id), date=AT.date().isoformat(), amount="99.00",
    )  # fmt: skip

    await within_bound(
        api,
        Read(staff["marketer"], PERFORMANCE, {"id": gid("Campaign", campaign.id)}),
        CAMPAIGN_COUNTERS,
        spend,
    )


async def test_flag_checks_reach_the_usage_within_the_bound(
    api: Api, staff: dict[str, Headers], service: Headers
) -> None:
    flag = await rows(api, f.make_feature_flag)
    check = {
        "flagKey": flag.key,
        "appType": "MOBILE",
        "accessedAt": (NOW - dt.timedelta(hours=1)).isoformat(),
    }

    await within_bound(
        api,
        Read(staff["marketer"], FLAG_USAGE, {"key": flag.key}),
        FLAG_COUNTERS,
        mutation(api, service, "recordFlagUsage", events=[check, check]),
    )


async def test_a_campaign_write_still_drops_an_answer_made_of_its_counters(
    api: Api, staff: dict[str, Headers], service: Headers
) -> None:
    campaign = await _live_campaign(api)
    await _events(api, service, campaign.id, 2)()
    dashboard = Read(staff["marketer"], PERFORMANCE, {"id": gid("Campaign", campaign.id)})
    rename = mutation(
        api, staff["marketer"], "updateCampaign", id=gid("Campaign", campaign.id), name="Renamed"
    )

    async def more_events_then_rename() -> None:
        await _events(api, service, campaign.id, 5)()  # alone, these leave the entry as it is
        await rename()

    [(before, after)] = await fresh_after(api, [dashboard], more_events_then_rename)

    impressions = [answer["campaign"]["performance"]["impressions"] for answer in (before, after)]
    assert impressions == [2, 7]
    assert after["campaign"]["name"] == "Renamed"


async def test_a_fold_by_a_real_job_worker_drops_the_cached_performance_answer(
    api: Api, staff: dict[str, Headers], service: Headers
) -> None:
    # given a campaign's cached performance answer
    campaign = await _live_campaign(api)
    dashboard = Read(staff["marketer"], PERFORMANCE, {"id": gid("Campaign", campaign.id)})
    await read(api, dashboard)
    assert (await read(api, dashboard)).cache["hit"] is True

    # when events are recorded and a job worker folds them (its own dispatcher, its own Redis client)
    await _record(api, service, campaign.id, 4)()
    redis = aioredis.from_url(api.settings.redis_url or "")
    told = f"{tags_prefix(api.settings)}i:campaign_analytics_daily.campaign_id={campaign.id}"
    try:
        async with running_worker(job_settings(api.settings, api.settings.database_url or "")):

            async def invalidated() -> bool:
                return bool(await redis.exists(told))

            await wait_until(invalidated, what="the worker's fold never invalidated the campaign's counters")
    finally:
        await redis.aclose()

    # then the next read is no stale entry: it is answered afresh, with the events counted
    after = await read(api, dashboard)
    assert after.cache["hit"] is False
    assert after.data["campaign"]["performance"]["impressions"] == 4
