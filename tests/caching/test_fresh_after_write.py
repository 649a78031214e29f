"""Every mutation domain: the read after a write through the API is fresh (issue 11, part 3).

Over HTTP with the response cache on, on a scratch database: a query showing what a mutation changes
is read twice (the second read a hit), the mutation runs through the API, and the next read equals
the answer of the same app with the cache off and shows the change (tests/caching/freshness.py).
Writes whose rows move between lists are among them: a campaign given to another merchant leaves one
merchant's list and joins the other's, status changes take a campaign or an experiment out of a
filtered list and into another, a deactivated merchant leaves the active ones.

Here campaigns, flags and merchants; experiments and ml in test_fresh_after_write_experiments_ml.py,
users, auth and admin in test_fresh_after_write_people.py, and analytics, whose counters are served
within their max age by design, in test_fresh_after_write_analytics.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.viewer import Role
from tests.caching.freshness import (  # noqa: F401 - the `api` and `staff` fixtures
    Api,
    Headers,
    Read,
    api_fixture,
    fresh_after,
    gid,
    mutation,
    person,
    rows,
    staff_fixture,
)
from tests.models import factories as f

NOW = dt.datetime.now(dt.UTC)

# ---------------------------------------------------------------------------------------- campaigns

CAMPAIGN = "query ($id: ID!) { campaign(id: $id) { name status budget merchant { name } } }"
CAMPAIGNS = """
query ($merchant: ID, $status: [CampaignStatus!]) {
  campaigns(first: 20, filter: {merchantId: $merchant, status: $status}) {
    totalCount edges { node { name status } }
  }
}
"""
OWN_CAMPAIGNS = "{ campaigns(first: 20) { totalCount edges { node { name } } } }"
CREATE_CAMPAIGN = """
mutation ($input: CreateCampaignInput!) {
  createCampaign(input: $input) { campaign { id } userErrors { code } }
}
"""


async def test_a_campaign_renamed_and_rebudgeted(api: Api, staff: dict[str, Headers]) -> None:
    campaign = await rows(api, f.make_campaign, name="Spring")
    one = Read(staff["marketer"], CAMPAIGN, {"id": gid("Campaign", campaign.id)})

    [(before, after)] = await fresh_after(
        api,
        [one],
        mutation(
            api, staff["marketer"], "updateCampaign",
            id=gid("Campaign", campaign.id), name="Summer", budget="750.00",
        ),
    )  # fmt: skip

    assert (before["campaign"]["name"], after["campaign"]["name"]) == ("Spring", "Summer")
    assert after["campaign"]["budget"] == "750.00"


async def test_a_campaign_given_to_another_merchant_moves_between_their_lists(
    api: Api, staff: dict[str, Headers]
) -> None:
    first, second = await rows(api, f.make_merchant), await rows(api, f.make_merchant)
    campaign = await rows(api, f.make_campaign, name="Moving", merchant_id=first.id)
    reads = [
        Read((await person(api, Role.MERCHANT, merchant_id=first.id))[1], OWN_CAMPAIGNS),
        Read((await person(api, Role.MERCHANT, merchant_id=second.id))[1], OWN_CAMPAIGNS),
        Read(staff["marketer"], CAMPAIGNS, {"merchant": gid("Merchant", second.id)}),
        Read(staff["marketer"], CAMPAIGN, {"id": gid("Campaign", campaign.id)}),
    ]
    move = mutation(
        api, staff["marketer"], "updateCampaign",
        id=gid("Campaign", campaign.id), merchantId=gid("Merchant", second.id),
    )  # fmt: skip

    (old_before, old_after), (new_before, new_after), (_, filtered), (_, one) = await fresh_after(
        api, reads, move
    )

    assert (old_before["campaigns"]["totalCount"], old_after["campaigns"]["totalCount"]) == (1, 0)
    assert (new_before["campaigns"]["totalCount"], new_after["campaigns"]["totalCount"]) == (0, 1)
    assert filtered["campaigns"]["edges"] == [{"node": {"name": "Moving", "status": "DRAFT"}}]
    assert one["campaign"]["merchant"]["name"] == second.name


async def test_each_status_change_leaves_one_filtered_list_and_joins_another(
    api: Api, staff: dict[str, Headers]
) -> None:
    merchant = await rows(api, f.make_merchant)
    campaign = await rows(
        api, f.make_campaign, merchant_id=merchant.id,
        starts_at=NOW + dt.timedelta(days=3), ends_at=NOW + dt.timedelta(days=30),
    )  # fmt: skip

    def listed(status: str) -> Read:
        variables = {"merchant": gid("Merchant", merchant.id), "status": [status]}
        return Read(staff["marketer"], CAMPAIGNS, variables)

    for name, left, joined in [
        ("scheduleCampaign", "DRAFT", "SCHEDULED"),
        ("startCampaign", "SCHEDULED", "RUNNING"),
        ("pauseCampaign", "RUNNING", "PAUSED"),
        ("completeCampaign", "PAUSED", "COMPLETED"),
        ("archiveCampaign", "COMPLETED", "ARCHIVED"),
    ]:
        write = mutation(api, staff["marketer"], name, id=gid("Campaign", campaign.id))

        (was, left_after), (was_not, joined_after) = await fresh_after(
            api, [listed(left), listed(joined)], write
        )

        assert (was["campaigns"]["totalCount"], left_after["campaigns"]["totalCount"]) == (1, 0), name
        assert (was_not["campaigns"]["totalCount"], joined_after["campaigns"]["totalCount"]) == (0, 1), name


async def test_a_campaign_created_and_deleted(api: Api, staff: dict[str, Headers]) -> None:
    merchant = await rows(api, f.make_merchant)
    listed = Read(staff["marketer"], CAMPAIGNS, {"merchant": gid("Merchant", merchant.id)})
    created: dict[str, Any] = {}

    async def create() -> None:
        values = {"name": "New", "type": "CASHBACK", "merchantId": gid("Merchant", merchant.id)}
        created.update(await api.write(staff["marketer"], CREATE_CAMPAIGN, {"input": values}))

    [(before, after)] = await fresh_after(api, [listed], create)
    one = Read(staff["marketer"], CAMPAIGN, {"id": created["campaign"]["id"]})
    delete = mutation(api, staff["marketer"], "deleteCampaign", id=created["campaign"]["id"])
    [(_, emptied), (_, gone)] = await fresh_after(api, [listed, one], delete)

    assert (before["campaigns"]["totalCount"], after["campaigns"]["totalCount"]) == (0, 1)
    assert emptied["campaigns"]["totalCount"] == 0
    assert gone["campaign"] is None


# -------------------------------------------------------------------------------------------- flags

FLAG = """
query ($key: String!) {
  flag(key: $key) {
    name enabled rolloutPercentage
    rollouts { segment variantKey variantValue weight active }
    auditLog(first: 10) { totalCount edges { node { action } } }
  }
}
"""
ENABLED_FLAGS = "{ flags(first: 100, filter: {enabled: true}) { totalCount edges { node { key } } } }"
# Every flag write but create and delete, in an order the rules accept (a segment's weights total 1000).
FLAG_WRITES: list[tuple[str, dict[str, Any]]] = [
    ("updateFlag", {"name": "Renamed", "reason": "clearer"}),
    ("toggleFlag", {"enabled": True, "reason": "launch"}),
    ("setFlagRollout", {"rolloutPercentage": 25, "reason": "ramp"}),
    (
        "setFlagVariants",
        {"variants": [{"variantKey": "a", "weight": 500}, {"variantKey": "b", "weight": 500}]},
    ),
    ("addFlagVariant", {"variantKey": "c", "weight": 100, "active": False}),
    ("updateFlagVariant", {"variantKey": "a", "variantValue": "A2"}),
    ("removeFlagVariant", {"variantKey": "c"}),
]


async def test_a_flag_created_changed_by_every_flag_write_and_deleted(
    api: Api, staff: dict[str, Headers]
) -> None:
    key = f"fresh-{f.seq()}"
    one = Read(staff["marketer"], FLAG, {"key": key})
    enabled = Read(staff["marketer"], ENABLED_FLAGS)
    create = mutation(api, staff["marketer"], "createFlag", key=key, name="Fresh", category="UI")

    [(before, created)] = await fresh_after(api, [one], create)
    assert before["flag"] is None and created["flag"]["name"] == "Fresh"

    for name, values in FLAG_WRITES:
        flag = {("flagKey" if "Variant" in name else "key"): key}
        write = mutation(api, staff["marketer"], name, **flag, **values)

        (flag_before, flag_after), (_, list_after) = await fresh_after(api, [one, enabled], write)

        assert flag_after != flag_before, name
        trail = flag_after["flag"]["auditLog"]["totalCount"]
        assert trail > flag_before["flag"]["auditLog"]["totalCount"], name
        listed = [e["node"]["key"] for e in list_after["flags"]["edges"]]
        assert (key in listed) == flag_after["flag"]["enabled"], name

    [(_, deleted)] = await fresh_after(api, [one], mutation(api, staff["marketer"], "deleteFlag", key=key))
    assert deleted["flag"] is None


# ---------------------------------------------------------------------------------------- merchants

MERCHANT = "query ($id: ID!) { merchant(id: $id) { name isActive category { name } } }"
PARTNERSHIP = "query ($id: ID!) { merchant(id: $id) { partnership { isPartner partnershipType } } }"
FOUND = """
query ($search: String!) {
  merchants(first: 5, filter: {search: $search}) { totalCount edges { node { name } } }
}
"""
CATEGORIES = "{ merchantCategories { name colorCode } }"
CREATE_MERCHANT = """
mutation ($input: CreateMerchantInput!) {
  createMerchant(input: $input) { merchant { id } userErrors { code } }
}
"""


async def test_a_merchant_created_renamed_and_deactivated_as_anonymous_callers_see_it(
    api: Api, staff: dict[str, Headers]
) -> None:
    category = await rows(api, f.make_merchant_category)
    word = f"Freshmart{f.seq()}"
    found = Read({}, FOUND, {"search": word})
    created: dict[str, Any] = {}

    async def create() -> None:
        values = {
            "code": word, "name": word, "categoryId": gid("MerchantCategory", category.id),
            "latitude": 40.7, "longitude": -74.0,
        }  # fmt: skip
        created.update(await api.write(staff["admin"], CREATE_MERCHANT, {"input": values}))

    [(before, after)] = await fresh_after(api, [found], create)
    assert (before["merchants"]["totalCount"], after["merchants"]["totalCount"]) == (0, 1)
    merchant = created["merchant"]["id"]
    one = Read({}, MERCHANT, {"id": merchant})

    rename = mutation(api, staff["admin"], "updateMerchant", id=merchant, name=f"{word} Deli")
    [(_, renamed), (_, still_found)] = await fresh_after(api, [one, found], rename)
    assert renamed["merchant"]["name"] == f"{word} Deli"
    assert still_found["merchants"]["edges"] == [{"node": {"name": f"{word} Deli"}}]

    deactivate = mutation(api, staff["admin"], "deactivateMerchant", id=merchant)
    [(_, inactive), (_, gone)] = await fresh_after(api, [one, found], deactivate)
    assert inactive["merchant"]["isActive"] is False
    assert gone["merchants"]["totalCount"] == 0


async def test_merchant_categories_created_and_renamed(api: Api, staff: dict[str, Headers]) -> None:
    merchant = await rows(api, f.make_merchant)
    listed = Read({}, CATEGORIES)
    one = Read(staff["marketer"], MERCHANT, {"id": gid("Merchant", merchant.id)})
    name = f"Bakeries {f.seq()}"

    [(before, after)] = await fresh_after(
        api, [listed], mutation(api, staff["admin"], "createMerchantCategory", name=name)
    )
    rename = mutation(
        api, staff["admin"], "updateMerchantCategory",
        id=gid("MerchantCategory", merchant.category_id), name=f"{name} and more", colorCode="#00AA00",
    )  # fmt: skip
    [(_, renamed), (_, of_merchant)] = await fresh_after(api, [listed, one], rename)

    assert name not in str(before) and {"name": name, "colorCode": None} in after["merchantCategories"]
    assert {"name": f"{name} and more", "colorCode": "#00AA00"} in renamed["merchantCategories"]
    assert of_merchant["merchant"]["category"]["name"] == f"{name} and more"


async def test_a_partnership_set_as_staff_and_the_merchant_see_it(
    api: Api, staff: dict[str, Headers]
) -> None:
    merchant = await rows(api, f.make_merchant)
    terms = Read(staff["admin"], PARTNERSHIP, {"id": gid("Merchant", merchant.id)})
    own = Read((await person(api, Role.MERCHANT, merchant_id=merchant.id))[1], PARTNERSHIP, terms.variables)
    partner = mutation(
        api, staff["admin"], "setPartnership",
        merchantId=gid("Merchant", merchant.id), partnershipType="PREMIUM", commissionRate="2.5",
    )  # fmt: skip

    [(before, after), (_, theirs)] = await fresh_after(api, [terms, own], partner)

    assert before["merchant"]["partnership"] in (None, {"isPartner": False, "partnershipType": None})
    assert after["merchant"]["partnership"] == {"isPartner": True, "partnershipType": "PREMIUM"}
    assert theirs == after
