"""Tenant isolation by every path: a merchant never sees another merchant's data, a customer never
another customer's, and roles without a need never see personal data — through node(id) for every
node type, and through the nested paths a client would try."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from tests.models import factories as f

NODE = "query ($id: ID!) { node(id: $id) { __typename id } }"
# Types that carry a person's data.
PERSONAL = {"User", "Account", "Transaction", "RewardEntry"}
PUBLIC = {"Merchant", "MerchantCategory"}


@dataclass
class World:
    ids: dict[str, tuple[str, str | None]]  # global id -> (type name, owner: "m1", "m2", "c1", "c2", None)
    viewers: dict[str, Viewer]
    m2_merchant: str
    c2_user: str


def _gid(type_name: str, pk: int) -> str:
    return relay.to_base64(type_name, pk)


@pytest.fixture
async def world(db: AsyncSession) -> World:
    ids: dict[str, tuple[str, str | None]] = {}

    def add(type_name: str, pk: int, owner: str | None) -> str:
        gid = _gid(type_name, pk)
        ids[gid] = (type_name, owner)
        return gid

    merchants = {}
    for owner in ("m1", "m2"):
        merchant = await f.make_merchant(db)
        merchants[owner] = merchant
        add("Merchant", merchant.id, None)  # profiles are public
        await f.make_preferred_merchant(db, merchant_id=merchant.id)
        campaign = await f.make_campaign(db, merchant_id=merchant.id)
        add("Campaign", campaign.id, owner)
        add(
            "CampaignOptimization",
            (await f.make_campaign_optimization(db, campaign_id=campaign.id)).id,
            owner,
        )
    customers = {}
    for owner in ("c1", "c2"):
        user = await f.make_user(db, role="customer")
        customers[owner] = user
        add("User", user.id, owner)
        account = await f.make_account(db, user_id=user.id)
        add("Account", account.id, owner)
        txn = await f.make_transaction(
            db, user_id=user.id, account_id=account.id, merchant_id=merchants["m2"].id
        )
        add("Transaction", txn.id, owner)
        add("RewardEntry", (await f.make_reward_entry(db, user_id=user.id)).id, owner)
    add("MerchantCategory", (await f.make_merchant_category(db)).id, None)
    add("Experiment", (await f.make_ab_test(db)).id, None)
    flag = await f.make_feature_flag(db)
    add("FeatureFlag", flag.id, None)
    add("FlagAuditEntry", (await f.make_feature_flag_audit_entry(db, flag_id=flag.id)).id, None)
    add("MlModel", (await f.make_ml_model(db)).id, None)

    staff = {
        role: await f.make_user(db, role=role.value) for role in (Role.ADMIN, Role.MARKETER, Role.ANALYST)
    }
    merchant_staff = await f.make_user(db, role="merchant", merchant_id=merchants["m1"].id)
    viewers = {
        "admin": Viewer(role=Role.ADMIN, user_id=staff[Role.ADMIN].id),
        "marketer": Viewer(role=Role.MARKETER, user_id=staff[Role.MARKETER].id),
        "analyst": Viewer(role=Role.ANALYST, user_id=staff[Role.ANALYST].id),
        "merchant": Viewer(role=Role.MERCHANT, user_id=merchant_staff.id, merchant_id=merchants["m1"].id),
        "customer": Viewer(role=Role.CUSTOMER, user_id=customers["c1"].id),
        "service": Viewer(role=Role.SERVICE),
        "anonymous": ANONYMOUS,
    }
    return World(ids, viewers, _gid("Merchant", merchants["m2"].id), _gid("User", customers["c2"].id))


def _may_see(viewer_name: str, type_name: str, owner: str | None) -> bool:
    """The isolation rules (not every permission): what each viewer may NOT see is the point."""
    if viewer_name == "admin":
        return True
    if type_name in PERSONAL:
        return viewer_name == "customer" and owner == "c1"
    if type_name in PUBLIC:
        return True
    if viewer_name == "merchant":
        return owner == "m1"
    if viewer_name in ("customer", "anonymous"):
        return False
    return None  # type: ignore[return-value]  # staff and services: not an isolation question


@pytest.mark.parametrize(
    "viewer_name", ["admin", "marketer", "analyst", "merchant", "customer", "service", "anonymous"]
)
async def test_node_of_every_type_respects_isolation(world: World, gql, viewer_name: str) -> None:  # type: ignore[no-untyped-def]
    viewer = world.viewers[viewer_name]
    leaks, missing = [], []
    for gid, (type_name, owner) in world.ids.items():
        result = await gql(NODE, {"id": gid}, viewer=viewer)
        codes = {e.extensions.get("code") for e in result.errors or []}
        assert "INTERNAL" not in codes, (type_name, result.errors)
        seen = result.data is not None and result.data["node"] is not None
        expected = _may_see(viewer_name, type_name, owner)
        if expected is False and seen:
            leaks.append(f"{type_name}({owner})")
        if expected is True and not seen:
            missing.append(f"{type_name}({owner})")
    assert leaks == [], f"{viewer_name} saw what it must not"
    assert missing == [], f"{viewer_name} could not see its own or public objects"


async def test_a_merchant_sees_neither_the_other_merchants_terms_nor_campaigns(world: World, gql) -> None:  # type: ignore[no-untyped-def]
    viewer = world.viewers["merchant"]
    terms = await gql(
        "query ($id: ID!) { merchant(id: $id) { name partnership { partnershipType } } }",
        {"id": world.m2_merchant},
        viewer=viewer,
    )
    listed = await gql("{ campaigns(first: 100) { edges { node { id } } } }", viewer=viewer)

    assert terms.data["merchant"]["name"] and terms.data["merchant"]["partnership"] is None
    own = {gid for gid, (t, owner) in world.ids.items() if t == "Campaign" and owner == "m1"}
    assert {e["node"]["id"] for e in listed.data["campaigns"]["edges"]} == own


async def test_a_customer_reaches_only_their_own_data(world: World, gql) -> None:  # type: ignore[no-untyped-def]
    viewer = world.viewers["customer"]
    other = await gql("query ($id: ID!) { user(id: $id) { name } }", {"id": world.c2_user}, viewer=viewer)
    mine = await gql(
        "{ me { accounts { id } transactions(first: 100) { edges { node { id } } } "
        "rewardsLedger(first: 100) { edges { node { id } } } } }",
        viewer=viewer,
    )

    assert other.data["user"] is None
    own = {gid for gid, (_, owner) in world.ids.items() if owner == "c1"}
    me = mine.data["me"]
    reached = {a["id"] for a in me["accounts"]}
    reached |= {e["node"]["id"] for e in me["transactions"]["edges"]}
    reached |= {e["node"]["id"] for e in me["rewardsLedger"]["edges"]}
    assert reached and reached <= own


async def test_the_walk_covers_every_node_type(world: World) -> None:
    from graphql import GraphQLObjectType

    from schema import schema

    nodes = {
        t.name
        for t in schema._schema.type_map.values()
        if isinstance(t, GraphQLObjectType) and any(i.name == "Node" for i in t.interfaces)
    }
    assert {type_name for type_name, _ in world.ids.values()} == nodes
