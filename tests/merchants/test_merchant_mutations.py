"""Merchant mutations: validation as userErrors with nothing written, unique codes and names, the audit
trail, deactivation instead of deletion, partnership upserts, idempotent retries and who may write."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Role, Viewer
from models.admin import AuditLogEntry
from models.merchants import Merchant, MerchantCategory, PreferredMerchant
from tests.merchants.support import ADMIN, count, errors_of, gid, others, pk
from tests.models import factories as f

CREATE = """
mutation ($input: CreateMerchantInput!) {
  createMerchant(input: $input) {
    merchant { id code name latitude rating isActive isFeatured operatingHours category { name } }
    userErrors { field message code }
  }
}
"""
UPDATE = """
mutation ($input: UpdateMerchantInput!) {
  updateMerchant(input: $input) { merchant { id code name city isActive } userErrors { field code } }
}
"""
DEACTIVATE = """
mutation ($id: ID!) {
  deactivateMerchant(input: {id: $id}) { merchant { id isActive } userErrors { field code } }
}
"""
CREATE_CATEGORY = """
mutation ($input: CreateMerchantCategoryInput!) {
  createMerchantCategory(input: $input) {
    merchantCategory { id name colorCode isActive }
    userErrors { field code }
  }
}
"""
UPDATE_CATEGORY = """
mutation ($input: UpdateMerchantCategoryInput!) {
  updateMerchantCategory(input: $input) { merchantCategory { id name isActive } userErrors { field code } }
}
"""
SET_PARTNERSHIP = """
mutation ($input: SetPartnershipInput!) {
  setPartnership(input: $input) {
    merchant { id code }
    partnership { isPartner partnershipType commissionRate campaignImpressions }
    userErrors { field code }
  }
}
"""


async def _valid(db: AsyncSession, **changes: object) -> dict[str, object]:
    category = await f.make_merchant_category(db, name=f"Cat {f.seq()}")
    return {
        "code": f"MER-{f.seq()}",
        "name": "Corner Café",
        "categoryId": gid("MerchantCategory", category.id),
        "latitude": 40.71,
        "longitude": -74.0,
        "phone": "+12125551234",
        "email": "hello@corner.cafe",
        "website": "https://corner.cafe",
        "operatingHours": {"mon": "07:00-22:00", "sun": "08:00-20:00"},
        "rating": "4.5",
        **changes,
    }


async def test_create_writes_the_merchant_and_its_audit_row(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    variables = {"input": await _valid(db)}

    result = await gql(CREATE, variables, viewer=ADMIN)

    assert result.errors is None, result.errors
    payload = result.data["createMerchant"]
    assert payload["userErrors"] == []
    merchant = payload["merchant"]
    assert (merchant["code"], merchant["rating"], merchant["isActive"]) == (
        variables["input"]["code"],
        "4.50",
        True,
    )
    assert merchant["operatingHours"] == {"mon": "07:00-22:00", "sun": "08:00-20:00"}
    audit = (await db.scalars(select(AuditLogEntry).where(AuditLogEntry.entity_type == "merchant"))).one()
    assert (audit.action, audit.entity_id, audit.actor_role) == (
        "merchant.create",
        pk(merchant["id"]),
        "admin",
    )
    assert audit.before is None and audit.after["code"] == variables["input"]["code"]
    assert "search" not in audit.after


RULES = [
    ({"code": ""}, "code", "REQUIRED"),
    ({"code": "M" * 51}, "code", "TOO_LONG"),
    ({"code": "has space"}, "code", "INVALID"),
    ({"name": "  "}, "name", "REQUIRED"),
    ({"name": "n" * 201}, "name", "TOO_LONG"),
    ({"description": "d" * 5001}, "description", "TOO_LONG"),
    ({"latitude": 90.5}, "latitude", "OUT_OF_RANGE"),
    ({"longitude": -180.5}, "longitude", "OUT_OF_RANGE"),
    ({"rating": "5.01"}, "rating", "OUT_OF_RANGE"),
    ({"rating": "-1"}, "rating", "OUT_OF_RANGE"),
    ({"phone": "212-555-1234"}, "phone", "INVALID"),
    ({"email": "not-an-email"}, "email", "INVALID"),
    ({"website": "corner.cafe"}, "website", "INVALID"),
    ({"zipCode": "z" * 21}, "zipCode", "TOO_LONG"),
    ({"operatingHours": ["mon"]}, "operatingHours", "INVALID"),
    ({"operatingHours": {"someday": "9-5"}}, "operatingHours", "INVALID"),
    ({"categoryId": gid("MerchantCategory", f.MISSING_ID)}, "categoryId", "NOT_FOUND"),
    ({"categoryId": gid("Merchant", 1)}, "categoryId", "NOT_FOUND"),
]


@pytest.mark.parametrize(
    ("changes", "field", "code"), RULES, ids=[f"{r[1]}-{r[2]}-{i}" for i, r in enumerate(RULES)]
)
async def test_invalid_input_is_a_user_error_and_writes_nothing(
    db: AsyncSession, gql, changes, field, code
) -> None:  # type: ignore[no-untyped-def]
    variables = {"input": await _valid(db, **changes)}
    before = (await count(db, Merchant), await count(db, AuditLogEntry))

    result = await gql(CREATE, variables, viewer=ADMIN)

    assert result.errors is None, result.errors
    payload = result.data["createMerchant"]
    assert payload["merchant"] is None
    assert (field, code) in errors_of(payload)
    assert (await count(db, Merchant), await count(db, AuditLogEntry)) == before


async def test_a_taken_code_and_an_inactive_category_are_refused(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    existing = await f.make_merchant(db)
    retired = await f.make_merchant_category(db, name=f"Retired {f.seq()}", is_active=False)
    variables = {
        "input": await _valid(db, code=existing.code, categoryId=gid("MerchantCategory", retired.id))
    }

    result = await gql(CREATE, variables, viewer=ADMIN)

    assert set(errors_of(result.data["createMerchant"])) == {("code", "TAKEN"), ("categoryId", "INVALID")}
    assert await count(db, Merchant) == 1


async def test_update_changes_only_the_given_fields_and_audits_before_and_after(
    db: AsyncSession, gql
) -> None:  # type: ignore[no-untyped-def]
    merchant = await f.make_merchant(db, city="Boston", website="legacy-site")  # predates the URL rule

    result = await gql(
        UPDATE, {"input": {"id": gid("Merchant", merchant.id), "city": "Cambridge"}}, viewer=ADMIN
    )

    payload = result.data["updateMerchant"]
    assert payload["userErrors"] == []
    assert (payload["merchant"]["city"], payload["merchant"]["code"]) == ("Cambridge", merchant.code)
    audit = (await db.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "merchant.update"))).one()
    assert (audit.before["city"], audit.after["city"]) == ("Boston", "Cambridge")


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"latitude": -91.0}, "latitude", "OUT_OF_RANGE"),
        ({"name": ""}, "name", "REQUIRED"),
        ({"code": "TAKEN-CODE"}, "code", "TAKEN"),
        ({"categoryId": gid("MerchantCategory", f.MISSING_ID)}, "categoryId", "NOT_FOUND"),
    ],
    ids=["latitude", "empty name", "taken code", "unknown category"],
)
async def test_update_validates_what_it_changes(db: AsyncSession, gql, changes, field, code) -> None:  # type: ignore[no-untyped-def]
    await f.make_merchant(db, code="TAKEN-CODE")
    merchant = await f.make_merchant(db, name="Kept")

    result = await gql(UPDATE, {"input": {"id": gid("Merchant", merchant.id), **changes}}, viewer=ADMIN)

    assert (field, code) in errors_of(result.data["updateMerchant"])
    await db.refresh(merchant)
    assert merchant.name == "Kept"
    assert await count(db, AuditLogEntry) == 0


@pytest.mark.parametrize("mutation", [UPDATE, DEACTIVATE], ids=["update", "deactivate"])
@pytest.mark.parametrize(
    "merchant_id", [gid("Merchant", f.MISSING_ID), gid("MerchantCategory", 1)], ids=["missing", "other type"]
)
async def test_an_unknown_merchant_is_not_found(gql, mutation: str, merchant_id: str) -> None:  # type: ignore[no-untyped-def]
    variables = {"input": {"id": merchant_id}} if mutation is UPDATE else {"id": merchant_id}
    result = await gql(mutation, variables, viewer=ADMIN)

    (payload,) = result.data.values()
    assert errors_of(payload) == [("id", "NOT_FOUND")]


async def test_a_merchant_with_staff_is_deactivated_once_and_can_come_back(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    merchant = await f.make_merchant(db)
    await f.make_user(db, role="merchant", merchant_id=merchant.id)
    merchant_gid = gid("Merchant", merchant.id)

    first = await gql(DEACTIVATE, {"id": merchant_gid}, viewer=ADMIN)
    again = await gql(DEACTIVATE, {"id": merchant_gid}, viewer=ADMIN)

    assert first.data["deactivateMerchant"]["merchant"]["isActive"] is False
    assert again.data["deactivateMerchant"] == first.data["deactivateMerchant"]
    assert await count(db, AuditLogEntry, AuditLogEntry.action == "merchant.deactivate") == 1

    back = await gql(UPDATE, {"input": {"id": merchant_gid, "isActive": True}}, viewer=ADMIN)
    assert back.data["updateMerchant"]["merchant"]["isActive"] is True


async def test_categories_are_created_with_unique_names_and_retired(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    created = await gql(CREATE_CATEGORY, {"input": {"name": "Pets", "colorCode": "#A1B2C3"}}, viewer=ADMIN)
    category = created.data["createMerchantCategory"]["merchantCategory"]
    duplicate = await gql(CREATE_CATEGORY, {"input": {"name": "Pets"}}, viewer=ADMIN)
    retired = await gql(UPDATE_CATEGORY, {"input": {"id": category["id"], "isActive": False}}, viewer=ADMIN)

    assert category["colorCode"] == "#A1B2C3" and category["isActive"] is True
    assert errors_of(duplicate.data["createMerchantCategory"]) == [("name", "TAKEN")]
    assert retired.data["updateMerchantCategory"]["merchantCategory"]["isActive"] is False
    actions = list(await db.scalars(select(AuditLogEntry.action).order_by(AuditLogEntry.id)))
    assert actions == ["merchant_category.create", "merchant_category.update"]


@pytest.mark.parametrize(
    ("mutation", "variables", "field", "code"),
    [
        (CREATE_CATEGORY, {"name": ""}, "name", "REQUIRED"),
        (CREATE_CATEGORY, {"name": "c" * 101}, "name", "TOO_LONG"),
        (CREATE_CATEGORY, {"name": "Ok", "colorCode": "red"}, "colorCode", "INVALID"),
        (CREATE_CATEGORY, {"name": "Ok", "colorCode": "#12345G"}, "colorCode", "INVALID"),
        (CREATE_CATEGORY, {"name": "Ok", "iconName": "i" * 101}, "iconName", "TOO_LONG"),
        (UPDATE_CATEGORY, {"id": gid("MerchantCategory", f.MISSING_ID)}, "id", "NOT_FOUND"),
        (UPDATE_CATEGORY, {"id": "TAKEN", "name": "Taken name"}, "name", "TAKEN"),
        (UPDATE_CATEGORY, {"id": "TAKEN", "colorCode": "#FFF"}, "colorCode", "INVALID"),
    ],
    ids=[
        "empty name",
        "long name",
        "colour word",
        "colour digit",
        "long icon",
        "unknown",
        "taken",
        "short hex",
    ],
)
async def test_category_rules(db: AsyncSession, gql, mutation, variables, field, code) -> None:  # type: ignore[no-untyped-def]
    await f.make_merchant_category(db, name="Taken name")
    own = await f.make_merchant_category(db, name=f"Own {f.seq()}")
    if variables.get("id") == "TAKEN":
        variables = {**variables, "id": gid("MerchantCategory", own.id)}
    before = await count(db, MerchantCategory)

    result = await gql(mutation, {"input": variables}, viewer=ADMIN)

    (payload,) = result.data.values()
    assert (field, code) in errors_of(payload)
    assert await count(db, MerchantCategory) == before
    assert await count(db, AuditLogEntry) == 0


async def test_set_partnership_creates_then_replaces_the_terms_keeping_the_counters(
    db: AsyncSession, gql
) -> None:  # type: ignore[no-untyped-def]
    merchant = await f.make_merchant(db)
    terms = {"merchantId": gid("Merchant", merchant.id), "partnershipType": "TRIAL", "commissionRate": "2.5"}

    created = await gql(SET_PARTNERSHIP, {"input": terms}, viewer=ADMIN)
    row = await db.scalar(select(PreferredMerchant).where(PreferredMerchant.merchant_id == merchant.id))
    row.campaign_impressions = 1234
    await db.flush()
    changed = await gql(
        SET_PARTNERSHIP,
        {"input": {**terms, "partnershipType": "PREMIUM", "commissionRate": "7"}},
        viewer=ADMIN,
    )

    assert created.data["setPartnership"]["partnership"]["partnershipType"] == "TRIAL"
    assert created.data["setPartnership"]["merchant"]["code"] == merchant.code
    assert changed.data["setPartnership"]["partnership"] == {
        "isPartner": True,
        "partnershipType": "PREMIUM",
        "commissionRate": "7.00",
        "campaignImpressions": 1234,
    }
    assert await count(db, PreferredMerchant) == 1
    audits = list(await db.scalars(select(AuditLogEntry).order_by(AuditLogEntry.id)))
    assert [(a.action, a.entity_id) for a in audits] == [("merchant.partnership", merchant.id)] * 2
    assert audits[0].before is None
    assert (audits[1].before["partnership_type"], audits[1].after["partnership_type"]) == ("trial", "premium")


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"commissionRate": "100.5"}, "commissionRate", "OUT_OF_RANGE"),
        ({"commissionRate": "-1"}, "commissionRate", "OUT_OF_RANGE"),
        ({"merchantId": gid("Merchant", f.MISSING_ID)}, "merchantId", "NOT_FOUND"),
        ({"merchantId": gid("Campaign", 1)}, "merchantId", "NOT_FOUND"),
    ],
    ids=["over 100", "negative", "unknown merchant", "not a merchant id"],
)
async def test_partnership_rules(db: AsyncSession, gql, changes, field, code) -> None:  # type: ignore[no-untyped-def]
    merchant = await f.make_merchant(db)
    terms = {"merchantId": gid("Merchant", merchant.id), "commissionRate": "5", **changes}

    result = await gql(SET_PARTNERSHIP, {"input": terms}, viewer=ADMIN)

    assert (field, code) in errors_of(result.data["setPartnership"])
    assert (await count(db, PreferredMerchant), await count(db, AuditLogEntry)) == (0, 0)


async def test_a_retry_with_the_same_key_creates_one_merchant(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    variables = {"input": {**await _valid(db), "idempotencyKey": "merchant-1"}}

    first = await gql(CREATE, variables, viewer=ADMIN)
    second = await gql(CREATE, variables, viewer=ADMIN)

    assert first.data == second.data
    assert second.data["createMerchant"]["merchant"] is not None
    assert (await count(db, Merchant), await count(db, AuditLogEntry)) == (1, 1)


ALL_MUTATIONS = {
    "createMerchant": (CREATE, "input"),
    "updateMerchant": (UPDATE, "input"),
    "deactivateMerchant": (DEACTIVATE, "id"),
    "createMerchantCategory": (CREATE_CATEGORY, "input"),
    "updateMerchantCategory": (UPDATE_CATEGORY, "input"),
    "setPartnership": (SET_PARTNERSHIP, "input"),
}


@pytest.mark.parametrize("name", list(ALL_MUTATIONS))
@pytest.mark.parametrize("viewer", others(Role.ADMIN), ids=lambda v: v.role.value)
async def test_only_admins_write_merchants(db: AsyncSession, gql, name: str, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    merchant = await f.make_merchant(db)
    valid = await _valid(db)
    inputs = {
        "createMerchant": valid,
        "updateMerchant": {"id": gid("Merchant", merchant.id), "name": "Hijacked"},
        "deactivateMerchant": gid("Merchant", merchant.id),
        "createMerchantCategory": {"name": "Hijacked"},
        "updateMerchantCategory": {"id": gid("MerchantCategory", merchant.category_id), "name": "Hijacked"},
        "setPartnership": {"merchantId": gid("Merchant", merchant.id), "commissionRate": "50"},
    }
    document, variable = ALL_MUTATIONS[name]
    before = (
        await count(db, Merchant),
        await count(db, MerchantCategory),
        await count(db, PreferredMerchant),
    )

    result = await gql(document, {variable: inputs[name]}, viewer=viewer)

    assert result.data == {name: None}
    assert [e.extensions["code"] for e in result.errors] == ["FORBIDDEN"]
    await db.refresh(merchant)
    assert merchant.is_active and merchant.name != "Hijacked"
    after = (await count(db, Merchant), await count(db, MerchantCategory), await count(db, PreferredMerchant))
    assert after == before
    assert await count(db, AuditLogEntry) == 0
