"""ML mutations: model versions (one active per type, audited), bulk affinity and send-time upserts
(all-or-nothing, per-row errors, repeatable), campaign optimisations, and who may call them."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Role, Viewer
from models.admin import AuditLogEntry
from models.ml import CampaignOptimization, MLModel, UserMerchantAffinity, UserOptimalSendTime
from tests.merchants.support import ADMIN, MARKETER, SERVICE, count, errors_of, gid, others, pk
from tests.models import factories as f

UPLOAD = """
mutation ($input: UploadModelVersionInput!) {
  uploadModelVersion(input: $input) { model { id name version status modelType } userErrors { field code } }
}
"""
ACTIVATE = """
mutation ($id: ID!) {
  activateModelVersion(input: {id: $id}) { model { id status } userErrors { field code } }
}
"""
AFFINITIES = """
mutation ($input: UpsertMerchantAffinitiesInput!) {
  upsertMerchantAffinities(input: $input) { upsertedCount userErrors { field message code } }
}
"""
SEND_TIMES = """
mutation ($input: UpsertOptimalSendTimesInput!) {
  upsertOptimalSendTimes(input: $input) { upsertedCount userErrors { field code } }
}
"""
CREATE_OPTIMIZATION = """
mutation ($input: CreateCampaignOptimizationInput!) {
  createCampaignOptimization(input: $input) {
    campaignOptimization { id recommendationType priority implemented implementedAt implementationEffort }
    userErrors { field code }
  }
}
"""
IMPLEMENTED = """
mutation ($id: ID!) {
  markOptimizationImplemented(input: {id: $id}) {
    campaignOptimization { id implemented implementedAt }
    userErrors { field code }
  }
}
"""
MODEL = {
    "name": "churn_xgb",
    "modelType": "CHURN",
    "version": "2.0.0",
    "trainingDate": "2024-05-01T00:00:00Z",
    "accuracy": 0.91,
    "featureCount": 42,
    "trainingSamples": 100000,
}


async def _statuses(db: AsyncSession, model_type: str = "churn") -> dict[str, str]:
    rows = await db.execute(select(MLModel.version, MLModel.status).where(MLModel.model_type == model_type))
    return dict(rows.all())


# Model versions ----------------------------------------------------------------------------------


async def test_upload_registers_a_training_version_and_audits_it(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(UPLOAD, {"input": MODEL}, viewer=SERVICE)

    payload = result.data["uploadModelVersion"]
    assert payload["userErrors"] == []
    assert (payload["model"]["status"], payload["model"]["modelType"]) == ("TRAINING", "CHURN")
    audit = (await db.scalars(select(AuditLogEntry))).one()
    assert (audit.action, audit.entity_type, audit.actor_label) == ("ml_model.upload", "ml_model", "service")
    assert audit.entity_id == pk(payload["model"]["id"])


async def test_activation_switches_the_active_model_of_the_type(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await f.make_ml_model(db, model_type="churn", version="1.0.0", status="active")
    await f.make_ml_model(db, model_type="conversion", version="9.0.0", status="active")

    result = await gql(UPLOAD, {"input": {**MODEL, "activate": True}}, viewer=SERVICE)

    assert result.data["uploadModelVersion"]["model"]["status"] == "ACTIVE"
    assert await _statuses(db) == {"1.0.0": "deprecated", "2.0.0": "active"}
    assert await _statuses(db, "conversion") == {"9.0.0": "active"}
    actions = list(await db.scalars(select(AuditLogEntry.action).order_by(AuditLogEntry.id)))
    assert actions == ["ml_model.upload", "ml_model.deprecate", "ml_model.activate"]

    # and activating the old version rolls back
    old = await db.scalar(select(MLModel.id).where(MLModel.version == "1.0.0"))
    rollback = await gql(ACTIVATE, {"id": gid("MlModel", old)}, viewer=ADMIN)
    assert rollback.data["activateModelVersion"]["model"]["status"] == "ACTIVE"
    assert await _statuses(db) == {"1.0.0": "active", "2.0.0": "deprecated"}


async def test_activating_the_active_model_changes_nothing(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    model = await f.make_ml_model(db, status="active")

    result = await gql(ACTIVATE, {"id": gid("MlModel", model.id)}, viewer=SERVICE)

    assert result.data["activateModelVersion"]["model"]["status"] == "ACTIVE"
    assert await count(db, AuditLogEntry) == 0


@pytest.mark.parametrize(
    ("model_id", "status", "code"),
    [
        (None, "archived", "INVALID_TRANSITION"),
        (f.MISSING_ID, None, "NOT_FOUND"),
        ("other", None, "NOT_FOUND"),
    ],
    ids=["archived", "missing", "other type"],
)
async def test_activation_rules(db: AsyncSession, gql, model_id, status, code) -> None:  # type: ignore[no-untyped-def]
    model = await f.make_ml_model(db, status=status or "training")
    target = {None: gid("MlModel", model.id), "other": gid("Campaign", model.id)}.get(model_id) or gid(
        "MlModel", model_id
    )

    result = await gql(ACTIVATE, {"id": target}, viewer=SERVICE)

    assert errors_of(result.data["activateModelVersion"]) == [("id", code)]
    assert await count(db, MLModel, MLModel.status == "active") == 0


UPLOAD_RULES = [
    ({"name": ""}, "name", "REQUIRED"),
    ({"name": "n" * 256}, "name", "TOO_LONG"),
    ({"version": "v" * 51}, "version", "TOO_LONG"),
    ({"modelPath": "p" * 501}, "modelPath", "TOO_LONG"),
    ({"accuracy": 1.01}, "accuracy", "OUT_OF_RANGE"),
    ({"precision": -0.1}, "precision", "OUT_OF_RANGE"),
    ({"recall": 2.0}, "recall", "OUT_OF_RANGE"),
    ({"f1Score": 1.5}, "f1Score", "OUT_OF_RANGE"),
    ({"aucScore": -1.0}, "aucScore", "OUT_OF_RANGE"),
    ({"featureCount": -1}, "featureCount", "OUT_OF_RANGE"),
    ({"trainingSamples": -5}, "trainingSamples", "OUT_OF_RANGE"),
    ({"trainingDate": "2999-01-01T00:00:00Z"}, "trainingDate", "OUT_OF_RANGE"),
]


@pytest.mark.parametrize(
    ("changes", "field", "code"), UPLOAD_RULES, ids=[r[1] + "-" + r[2] for r in UPLOAD_RULES]
)
async def test_upload_rules(db: AsyncSession, gql, changes, field, code) -> None:  # type: ignore[no-untyped-def]
    result = await gql(UPLOAD, {"input": {**MODEL, **changes, "activate": True}}, viewer=SERVICE)

    payload = result.data["uploadModelVersion"]
    assert payload["model"] is None
    assert (field, code) in errors_of(payload)
    assert (await count(db, MLModel), await count(db, AuditLogEntry)) == (0, 0)


async def test_the_same_name_and_version_is_taken(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await f.make_ml_model(
        db, name=MODEL["name"], version=MODEL["version"], status="active", model_type="churn"
    )

    result = await gql(UPLOAD, {"input": {**MODEL, "activate": True}}, viewer=SERVICE)

    assert errors_of(result.data["uploadModelVersion"]) == [("version", "TAKEN")]
    assert await _statuses(db) == {"2.0.0": "active"}


async def test_a_retried_upload_registers_one_version(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    variables = {"input": {**MODEL, "activate": True, "idempotencyKey": "upload-1"}}

    first = await gql(UPLOAD, variables, viewer=SERVICE)
    second = await gql(UPLOAD, variables, viewer=SERVICE)

    assert first.data == second.data
    assert second.data["uploadModelVersion"]["userErrors"] == []
    assert await count(db, MLModel) == 1


# Bulk scores ------------------------------------------------------------------------------------


async def _pairs(db: AsyncSession, n: int) -> list[tuple[int, int]]:
    merchant = await f.make_merchant(db)
    other = await f.make_merchant(db)
    users = [await f.make_user(db) for _ in range(n)]
    return [(u.id, m) for u in users for m in (merchant.id, other.id)]


def _score(user_id: int, merchant_id: int, score: float = 0.5, **extra: object) -> dict[str, object]:
    return {
        "userId": gid("User", user_id),
        "merchantId": gid("Merchant", merchant_id),
        "affinityScore": score,
        **extra,
    }


async def _affinities(db: AsyncSession) -> list[tuple[object, ...]]:
    rows = await db.execute(
        select(
            UserMerchantAffinity.id,
            UserMerchantAffinity.user_id,
            UserMerchantAffinity.merchant_id,
            UserMerchantAffinity.affinity_score,
            UserMerchantAffinity.purchase_count,
            UserMerchantAffinity.avg_transaction_value,
        ).order_by(UserMerchantAffinity.id)
    )
    return [tuple(r) for r in rows.all()]


async def test_the_same_affinity_batch_twice_gives_the_same_rows(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    pairs = await _pairs(db, 3)
    batch = [
        _score(u, m, 0.1 * i, purchaseCount=i, avgTransactionValue="12.50") for i, (u, m) in enumerate(pairs)
    ]

    first = await gql(AFFINITIES, {"input": {"scores": batch}}, viewer=SERVICE)
    rows = await _affinities(db)
    second = await gql(AFFINITIES, {"input": {"scores": list(reversed(batch))}}, viewer=SERVICE)

    assert first.data["upsertMerchantAffinities"] == {"upsertedCount": 6, "userErrors": []}
    assert second.data["upsertMerchantAffinities"] == {"upsertedCount": 6, "userErrors": []}
    assert await _affinities(db) == rows
    assert len(rows) == 6
    # and no audit rows: this is data the pipeline recomputes, not configuration
    assert await count(db, AuditLogEntry) == 0


async def test_an_upsert_replaces_the_stored_scores(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    (user_id, merchant_id), *_ = await _pairs(db, 1)
    await f.make_user_merchant_affinity(db, user_id=user_id, merchant_id=merchant_id, affinity_score=0.1)

    await gql(
        AFFINITIES, {"input": {"scores": [_score(user_id, merchant_id, 0.9, purchaseCount=3)]}}, viewer=ADMIN
    )

    row = (await db.scalars(select(UserMerchantAffinity).execution_options(populate_existing=True))).one()
    assert (row.affinity_score, row.purchase_count) == (0.9, 3)


async def test_every_bad_row_is_reported_and_nothing_is_written(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    pairs = await _pairs(db, 2)
    erased = await f.make_user(db, email=None, name=None, deleted_at=f.T0)
    (u0, m0), (u1, m1), (u2, m2), _ = pairs
    batch = [
        _score(u0, m0, 0.4),
        _score(u1, m1, 1.2),
        _score(u2, m2, 0.3, interactionCount=-1, avgTransactionValue="-2"),
        _score(f.MISSING_ID, m0),
        _score(u0, f.MISSING_ID),
        _score(erased.id, m0),
        _score(u0, m0, 0.7),
        {**_score(u0, m0), "userId": gid("Merchant", u0)},
    ]

    result = await gql(AFFINITIES, {"input": {"scores": batch}}, viewer=SERVICE)

    payload = result.data["upsertMerchantAffinities"]
    assert payload["upsertedCount"] is None
    assert set(errors_of(payload)) == {
        ("scores.1.affinityScore", "OUT_OF_RANGE"),
        ("scores.2.interactionCount", "OUT_OF_RANGE"),
        ("scores.2.avgTransactionValue", "OUT_OF_RANGE"),
        ("scores.3.userId", "NOT_FOUND"),
        ("scores.4.merchantId", "NOT_FOUND"),
        ("scores.5.userId", "NOT_FOUND"),
        ("scores.6.merchantId", "INVALID"),
        ("scores.7.userId", "NOT_FOUND"),
    }
    assert await count(db, UserMerchantAffinity) == 0


async def test_a_batch_over_the_limit_is_refused(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    (user_id, merchant_id), *_ = await _pairs(db, 1)

    result = await gql(
        AFFINITIES, {"input": {"scores": [_score(user_id, merchant_id)] * 1001}}, viewer=SERVICE
    )

    assert errors_of(result.data["upsertMerchantAffinities"]) == [("scores", "OUT_OF_RANGE")]
    assert await count(db, UserMerchantAffinity) == 0


async def test_a_full_batch_of_1000_rows_is_written(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    users = [await f.make_user(db) for _ in range(40)]
    merchants = [await f.make_merchant(db) for _ in range(25)]
    batch = [_score(u.id, m.id, 0.25) for u in users for m in merchants]

    result = await gql(AFFINITIES, {"input": {"scores": batch}}, viewer=SERVICE)

    assert result.data["upsertMerchantAffinities"] == {"upsertedCount": 1000, "userErrors": []}
    assert await count(db, UserMerchantAffinity) == 1000


async def test_an_empty_batch_writes_nothing(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(AFFINITIES, {"input": {"scores": []}}, viewer=SERVICE)
    assert result.data["upsertMerchantAffinities"] == {"upsertedCount": 0, "userErrors": []}


async def test_send_times_upsert_once_per_user(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    users = [await f.make_user(db) for _ in range(3)]
    await f.make_user_optimal_send_time(db, user_id=users[0].id, optimal_hour=3)
    times = [
        {"userId": gid("User", u.id), "optimalHour": 9 + i, "optimalDayOfWeek": i, "engagementScore": 0.5}
        for i, u in enumerate(users)
    ]

    first = await gql(SEND_TIMES, {"input": {"times": times}}, viewer=SERVICE)
    ids = list(await db.scalars(select(UserOptimalSendTime.id).order_by(UserOptimalSendTime.user_id)))
    second = await gql(SEND_TIMES, {"input": {"times": times}}, viewer=SERVICE)

    assert first.data == second.data == {"upsertOptimalSendTimes": {"upsertedCount": 3, "userErrors": []}}
    stored = await db.execute(
        select(UserOptimalSendTime.id, UserOptimalSendTime.optimal_hour).order_by(UserOptimalSendTime.user_id)
    )
    assert [tuple(r) for r in stored.all()] == list(zip(ids, [9, 10, 11], strict=True))


SEND_TIME_RULES = [
    ({"optimalHour": 24}, "times.0.optimalHour", "OUT_OF_RANGE"),
    ({"optimalHour": -1}, "times.0.optimalHour", "OUT_OF_RANGE"),
    ({"optimalDayOfWeek": 7}, "times.0.optimalDayOfWeek", "OUT_OF_RANGE"),
    ({"confidenceScore": 1.5}, "times.0.confidenceScore", "OUT_OF_RANGE"),
    ({"openRateMorning": -0.1}, "times.0.openRateMorning", "OUT_OF_RANGE"),
    ({"openRateAfternoon": 1.1}, "times.0.openRateAfternoon", "OUT_OF_RANGE"),
    ({"openRateEvening": 3.0}, "times.0.openRateEvening", "OUT_OF_RANGE"),
    ({"engagementScore": 1.01}, "times.0.engagementScore", "OUT_OF_RANGE"),
    ({"userId": gid("User", f.MISSING_ID)}, "times.0.userId", "NOT_FOUND"),
]


@pytest.mark.parametrize(("changes", "field", "code"), SEND_TIME_RULES, ids=[r[1] for r in SEND_TIME_RULES])
async def test_send_time_rules(db: AsyncSession, gql, changes, field, code) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db)
    row = {"userId": gid("User", user.id), "optimalHour": 9, "optimalDayOfWeek": 1, **changes}

    result = await gql(SEND_TIMES, {"input": {"times": [row]}}, viewer=SERVICE)

    assert errors_of(result.data["upsertOptimalSendTimes"]) == [(field, code)]
    assert await count(db, UserOptimalSendTime) == 0


# Campaign optimisations -------------------------------------------------------------------------


async def _advice(db: AsyncSession, **changes: object) -> dict[str, object]:
    campaign = await f.make_campaign(db)
    return {
        "campaignId": gid("Campaign", campaign.id),
        "recommendationType": "TIMING",
        "recommendationText": "Send at 9am local time.",
        "confidenceScore": 0.8,
        "potentialUpliftPercent": 12.5,
        "implementationEffort": "LOW",
        "priority": 2,
        **changes,
    }


async def test_an_optimization_is_created_then_implemented_once(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    created = await gql(CREATE_OPTIMIZATION, {"input": await _advice(db)}, viewer=MARKETER)
    advice = created.data["createCampaignOptimization"]["campaignOptimization"]

    done = await gql(IMPLEMENTED, {"id": advice["id"]}, viewer=MARKETER)
    again = await gql(IMPLEMENTED, {"id": advice["id"]}, viewer=ADMIN)

    assert (advice["implemented"], advice["implementationEffort"], advice["priority"]) == (False, "LOW", 2)
    implemented = done.data["markOptimizationImplemented"]["campaignOptimization"]
    assert implemented["implemented"] is True and implemented["implementedAt"] is not None
    assert again.data == done.data
    actions = list(await db.scalars(select(AuditLogEntry.action).order_by(AuditLogEntry.id)))
    assert actions == ["campaign_optimization.create", "campaign_optimization.implement"]


OPTIMIZATION_RULES = [
    ({"recommendationText": ""}, "recommendationText", "REQUIRED"),
    ({"recommendationText": "x" * 5001}, "recommendationText", "TOO_LONG"),
    ({"confidenceScore": 1.2}, "confidenceScore", "OUT_OF_RANGE"),
    ({"confidenceScore": -0.2}, "confidenceScore", "OUT_OF_RANGE"),
    ({"priority": 0}, "priority", "OUT_OF_RANGE"),
    ({"priority": 11}, "priority", "OUT_OF_RANGE"),
    ({"potentialUpliftPercent": -150.0}, "potentialUpliftPercent", "OUT_OF_RANGE"),
    ({"campaignId": gid("Campaign", f.MISSING_ID)}, "campaignId", "NOT_FOUND"),
    ({"campaignId": gid("Merchant", 1)}, "campaignId", "NOT_FOUND"),
]


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    OPTIMIZATION_RULES,
    ids=[f"{r[1]}-{i}" for i, r in enumerate(OPTIMIZATION_RULES)],
)
async def test_optimization_rules(db: AsyncSession, gql, changes, field, code) -> None:  # type: ignore[no-untyped-def]
    result = await gql(CREATE_OPTIMIZATION, {"input": await _advice(db, **changes)}, viewer=MARKETER)

    assert (field, code) in errors_of(result.data["createCampaignOptimization"])
    assert (await count(db, CampaignOptimization), await count(db, AuditLogEntry)) == (0, 0)


async def test_marking_an_unknown_optimization_is_not_found(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(IMPLEMENTED, {"id": gid("CampaignOptimization", f.MISSING_ID)}, viewer=MARKETER)
    assert errors_of(result.data["markOptimizationImplemented"]) == [("id", "NOT_FOUND")]


# Who may call what ------------------------------------------------------------------------------

PIPELINE_CALLS = [
    "uploadModelVersion",
    "activateModelVersion",
    "upsertMerchantAffinities",
    "upsertOptimalSendTimes",
]
ADVICE_CALLS = ["createCampaignOptimization", "markOptimizationImplemented"]
REFUSALS = [(name, v) for name in PIPELINE_CALLS for v in others(Role.SERVICE, Role.ADMIN)] + [
    (name, v) for name in ADVICE_CALLS for v in others(Role.MARKETER, Role.ADMIN)
]


@pytest.mark.parametrize(("name", "viewer"), REFUSALS, ids=[f"{n}-{v.role.value}" for n, v in REFUSALS])
async def test_refused_roles_write_nothing(db: AsyncSession, gql, name: str, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    (user_id, merchant_id), *_ = await _pairs(db, 1)
    model = await f.make_ml_model(db)
    advice = await f.make_campaign_optimization(db)
    calls = {
        "uploadModelVersion": (UPLOAD, {"input": {**MODEL, "activate": True}}),
        "activateModelVersion": (ACTIVATE, {"id": gid("MlModel", model.id)}),
        "upsertMerchantAffinities": (AFFINITIES, {"input": {"scores": [_score(user_id, merchant_id)]}}),
        "upsertOptimalSendTimes": (
            SEND_TIMES,
            {"input": {"times": [{"userId": gid("User", user_id), "optimalHour": 1, "optimalDayOfWeek": 1}]}},
        ),
        "createCampaignOptimization": (CREATE_OPTIMIZATION, {"input": await _advice(db)}),
        "markOptimizationImplemented": (IMPLEMENTED, {"id": gid("CampaignOptimization", advice.id)}),
    }
    document, variables = calls[name]

    result = await gql(document, variables, viewer=viewer)

    assert result.data == {name: None}
    assert [e.extensions["code"] for e in result.errors] == ["FORBIDDEN"]
    assert await count(db, MLModel) == 1 and await count(db, MLModel, MLModel.status == "active") == 0
    assert await count(db, UserMerchantAffinity) == 0 and await count(db, UserOptimalSendTime) == 0
    assert await count(db, CampaignOptimization) == 1
    assert await count(db, CampaignOptimization, CampaignOptimization.implemented) == 0
    assert await count(db, AuditLogEntry) == 0
