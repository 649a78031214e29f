"""Every mutation domain, continued (test_fresh_after_write.py says how): experiments and ml."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from strawberry import relay

from core.viewer import Role
from models.experiments import ExperimentVariant
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

# -------------------------------------------------------------------------------------- experiments

EXPERIMENT = """
query ($id: ID!) {
  experiment(id: $id) {
    name status variants { key weight assignedUsers }
    results { source variants { key users conversions revenue } }
  }
}
"""
RESULTS = "query ($id: ID!) { experiment(id: $id) { results { source variants { key users } } } }"
EXPERIMENTS = """
query ($campaign: ID, $status: [ExperimentStatus!]) {
  experiments(first: 10, filter: {campaignId: $campaign, status: $status}) {
    totalCount edges { node { key } }
  }
}
"""
MY_ASSIGNMENTS = "{ myExperimentAssignments { experimentKey variantKey } }"
CREATE_EXPERIMENT = """
mutation ($input: CreateExperimentInput!) {
  createExperiment(input: $input) { experiment { id } userErrors { code } }
}
"""
ARMS = [
    {"key": "control", "name": "Control", "weight": 500, "isControl": True},
    {"key": "treatment", "name": "Treatment", "weight": 500},
]


async def test_an_experiment_through_its_life(api: Api, staff: dict[str, Headers]) -> None:
    campaign = gid("Campaign", (await rows(api, f.make_campaign)).id)
    created: dict[str, Any] = {}

    async def create() -> None:
        values = {"key": f"exp-{f.seq()}", "name": "Fresh", "variants": ARMS, "campaignId": campaign}
        created.update(await api.write(staff["marketer"], CREATE_EXPERIMENT, {"input": values}))

    [(before, after)] = await fresh_after(
        api, [Read(staff["marketer"], EXPERIMENTS, {"campaign": campaign})], create
    )
    assert (before["experiments"]["totalCount"], after["experiments"]["totalCount"]) == (0, 1)
    experiment = created["experiment"]["id"]
    one = Read(staff["marketer"], EXPERIMENT, {"id": experiment})

    def write(field: str, headers: Headers = staff["marketer"], /, **values: Any) -> Any:
        return mutation(api, headers, field, id=experiment, **values)

    [(_, renamed)] = await fresh_after(
        api, [one], write("updateExperiment", staff["marketer"], name="Renamed")
    )
    assert renamed["experiment"]["name"] == "Renamed"
    drafts, running = (
        Read(staff["marketer"], EXPERIMENTS, {"campaign": campaign, "status": [s]})
        for s in ("DRAFT", "RUNNING")
    )
    [(_, started), (_, left), (_, joined)] = await fresh_after(
        api, [one, drafts, running], write("startExperiment")
    )
    assert started["experiment"]["status"] == "RUNNING"
    assert (left["experiments"]["totalCount"], joined["experiments"]["totalCount"]) == (0, 1)

    # a customer is assigned: the variants' counts, the results and the customer's own list change
    user_id, customer = await person(api, Role.CUSTOMER)
    assign = mutation(api, customer, "assignVariant", experimentId=experiment)
    [(_, assigned), (mine_before, mine_after)] = await fresh_after(
        api, [one, Read(customer, MY_ASSIGNMENTS)], assign
    )
    assert sum(v["assignedUsers"] for v in assigned["experiment"]["variants"]) == 1
    assert (len(mine_before["myExperimentAssignments"]), len(mine_after["myExperimentAssignments"])) == (0, 1)

    convert = mutation(
        api,
        staff["admin"],
        "recordConversion",
        experimentId=experiment,
        userId=gid("User", user_id),
        revenue="12.50",
    )
    [(_, converted)] = await fresh_after(api, [one], convert)
    assert sum(v["conversions"] for v in converted["experiment"]["results"]["variants"]) == 1

    for name, status in (("pauseExperiment", "PAUSED"), ("completeExperiment", "COMPLETED")):
        [(_, moved)] = await fresh_after(api, [one], write(name))
        assert moved["experiment"]["status"] == status

    # a completed test is read from its snapshot: a user added behind the API shows after a recompute
    await _late_assignment(api, int(relay.from_base64(experiment)[1]))
    [(stored, recomputed)] = await fresh_after(
        api,
        [Read(staff["marketer"], RESULTS, {"id": experiment})],
        write("recomputeExperimentResults", staff["admin"]),
    )
    users = [sum(v["users"] for v in r["experiment"]["results"]["variants"]) for r in (stored, recomputed)]
    assert users == [1, 2]

    [(_, archived)] = await fresh_after(api, [one], write("archiveExperiment"))
    assert archived["experiment"]["status"] == "ARCHIVED"


async def _late_assignment(api: Api, test_id: int) -> None:
    async with api.sessionmaker() as session, session.begin():
        variant = await session.scalar(select(ExperimentVariant).where(ExperimentVariant.test_id == test_id))
        assert variant is not None
        user = await f.make_user(session)
        await f.make_ab_test_assignment(session, test_id=test_id, variant_id=variant.id, user_id=user.id)


# ----------------------------------------------------------------------------------------------- ml

INSIGHTS = """
{
  me { recommendedMerchants(first: 3) { affinityScore merchant { name } } optimalSendTime { hour dayOfWeek } }
}
"""
MODELS = "query ($ids: [ID!]!) { nodes(ids: $ids) { ... on MlModel { version status } } }"
CAMPAIGN_ADVICE = (
    "query ($id: ID!) { campaign(id: $id) { optimizations { recommendationText implemented } } }"
)


async def test_model_versions_uploaded_and_activated(api: Api, staff: dict[str, Headers]) -> None:
    kind = "churn"
    current = await rows(api, f.make_ml_model, model_type=kind, status="active", version="1.0")
    spare = await rows(
        api, f.make_ml_model, model_type=kind, status="training", version="1.1", name=current.name
    )
    models = Read(staff["admin"], MODELS, {"ids": [gid("MlModel", current.id), gid("MlModel", spare.id)]})
    upload = mutation(
        api, staff["admin"], "uploadModelVersion",
        name=current.name, modelType="CHURN", version="2.0", trainingDate=NOW.isoformat(), activate=True,
    )  # fmt: skip

    [(before, uploaded)] = await fresh_after(api, [models], upload)
    [(_, activated)] = await fresh_after(
        api, [models], mutation(api, staff["admin"], "activateModelVersion", id=gid("MlModel", spare.id))
    )

    assert [m["status"] for m in before["nodes"]] == ["ACTIVE", "TRAINING"]
    assert [m["status"] for m in uploaded["nodes"]] == ["DEPRECATED", "TRAINING"]
    assert [m["status"] for m in activated["nodes"]] == ["DEPRECATED", "ACTIVE"]


async def test_scores_upserted_show_to_the_customer(api: Api, staff: dict[str, Headers]) -> None:
    user_id, customer = await person(api, Role.CUSTOMER)
    merchant = await rows(api, f.make_merchant)
    me = Read(customer, INSIGHTS)
    score = {"userId": gid("User", user_id), "merchantId": gid("Merchant", merchant.id), "affinityScore": 0.9}
    affinity = mutation(api, staff["admin"], "upsertMerchantAffinities", scores=[score])
    times = mutation(
        api, staff["admin"], "upsertOptimalSendTimes",
        times=[{"userId": gid("User", user_id), "optimalHour": 9, "optimalDayOfWeek": 2}],
    )  # fmt: skip

    [(before, scored)] = await fresh_after(api, [me], affinity)
    [(_, timed)] = await fresh_after(api, [me], times)

    assert before["me"]["recommendedMerchants"] == []
    assert scored["me"]["recommendedMerchants"] == [
        {"affinityScore": 0.9, "merchant": {"name": merchant.name}}
    ]
    assert timed["me"]["optimalSendTime"] == {"hour": 9, "dayOfWeek": 2}


async def test_campaign_advice_created_and_implemented(api: Api, staff: dict[str, Headers]) -> None:
    campaign = await rows(api, f.make_campaign)
    advice = Read(staff["marketer"], CAMPAIGN_ADVICE, {"id": gid("Campaign", campaign.id)})
    created: dict[str, Any] = {}
    create = """
    mutation ($id: ID!) {
      createCampaignOptimization(input: {campaignId: $id, recommendationType: TIMING,
        recommendationText: "Send at nine", confidenceScore: 0.8}) {
        campaignOptimization { id } userErrors { code }
      }
    }
    """

    async def advise() -> None:
        created.update(await api.write(staff["marketer"], create, {"id": gid("Campaign", campaign.id)}))

    [(before, after)] = await fresh_after(api, [advice], advise)
    implement = mutation(
        api, staff["marketer"], "markOptimizationImplemented", id=created["campaignOptimization"]["id"]
    )
    [(_, implemented)] = await fresh_after(api, [advice], implement)

    assert before["campaign"]["optimizations"] == []
    assert after["campaign"]["optimizations"] == [
        {"recommendationText": "Send at nine", "implemented": False}
    ]
    assert implemented["campaign"]["optimizations"][0]["implemented"] is True
