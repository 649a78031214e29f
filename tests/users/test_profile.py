"""`me`, `user(id)` and `node(id)`: who reaches which User, and which of its fields."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import ANONYMOUS, Role, Viewer
from tests.models import factories as f
from tests.support import codes
from tests.users.support import ADMIN, MARKETER, SERVICE, customer, gid

ME = """
{ me { id name email phone role loyaltyTier rewardPoints createdAt lastLoginAt isErased } }
"""
ME_NAME = "{ me { name role } }"
ME_EMAIL = "{ me { name email } }"
USER = "query ($id: ID!) { user(id: $id) { id name email isErased } }"
NODE = "query ($id: ID!) { node(id: $id) { id ... on User { name } } }"
NODE_ANY = """
query ($id: ID!) {
  node(id: $id) {
    id ... on Account { lastFour } ... on Transaction { category } ... on RewardEntry { points }
  }
}
"""


async def test_me_is_the_customer_viewer(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a customer with a phone and a tier
    login = datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
    user = await f.make_user(
        db, name="Ann Lee", phone="+15551234567", loyalty_tier="gold", last_login_at=login
    )

    # when the customer asks for `me`
    result = await gql(ME, viewer=customer(user.id))

    # then their whole profile comes back, PII included
    assert result.errors is None, result.errors
    me = result.data["me"]
    assert me["id"] == gid("User", user.id)
    assert (me["name"], me["email"], me["phone"]) == ("Ann Lee", user.email, "+15551234567")
    assert (me["role"], me["loyaltyTier"], me["rewardPoints"]) == ("CUSTOMER", "GOLD", 0)
    assert me["lastLoginAt"] == login.isoformat()
    assert me["isErased"] is False


async def test_me_is_forbidden_to_anonymous_and_services(gql) -> None:  # type: ignore[no-untyped-def]
    for viewer in (ANONYMOUS, SERVICE):
        result = await gql(ME_NAME, viewer=viewer)
        assert result.data is None or result.data["me"] is None
        assert codes(result) == {"FORBIDDEN"}


async def test_me_of_staff_hides_their_pii(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a marketer's own user row
    user = await f.make_user(db, name="Mark Eter", role="marketer")

    # when the marketer asks for their email
    result = await gql(ME_EMAIL, viewer=Viewer(role=Role.MARKETER, user_id=user.id))

    # then the name is there, the email is refused without losing the rest
    assert result.data["me"] == {"name": "Mark Eter", "email": None}
    assert codes(result) == {"FORBIDDEN"}
    assert result.errors[0].path == ["me", "email"]


async def test_me_without_a_user_row_is_null(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(ME_NAME, viewer=customer(f.MISSING_ID))
    assert result.errors is None and result.data["me"] is None


async def test_customer_reaches_only_themself_by_id(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given two customers
    me, other = await f.make_user(db), await f.make_user(db)

    # when the first asks for both, through user(id) and node(id)
    own = await gql(USER, {"id": gid("User", me.id)}, viewer=customer(me.id))
    by_user = await gql(USER, {"id": gid("User", other.id)}, viewer=customer(me.id))
    by_node = await gql(NODE, {"id": gid("User", other.id)}, viewer=customer(me.id))

    # then only their own comes back; the other is not found, without an error
    assert own.data["user"]["email"] == me.email
    assert by_user.errors is None and by_user.data["user"] is None
    assert by_node.errors is None and by_node.data["node"] is None


async def test_customer_cannot_reach_another_customers_rows_by_node(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given another customer's account, transaction and ledger entry
    me, other = await f.make_user(db), await f.make_user(db)
    transaction = await f.make_transaction(db, user_id=other.id)
    entry = await f.make_reward_entry(db, user_id=other.id)
    hidden = [
        gid("Account", transaction.account_id),
        gid("Transaction", transaction.id),
        gid("RewardEntry", entry.id),
    ]

    # when the customer asks for each, and the admin does too
    for node_id in hidden:
        mine = await gql(NODE_ANY, {"id": node_id}, viewer=customer(me.id))
        admin = await gql(NODE_ANY, {"id": node_id}, viewer=ADMIN)

        # then the customer finds nothing and the admin finds it
        assert mine.errors is None and mine.data["node"] is None
        assert admin.errors is None and admin.data["node"]["id"] == node_id


async def test_types_some_roles_may_never_see_are_forbidden_by_node(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db)
    transaction = await f.make_transaction(db, user_id=user.id)

    anonymous = await gql(NODE, {"id": gid("User", user.id)}, viewer=ANONYMOUS)
    marketer = await gql(NODE_ANY, {"id": gid("Transaction", transaction.id)}, viewer=MARKETER)

    assert codes(anonymous) == {"FORBIDDEN"}
    assert codes(marketer) == {"FORBIDDEN"}


async def test_marketer_sees_no_other_user_by_node(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    someone = await f.make_user(db)
    result = await gql(NODE, {"id": gid("User", someone.id)}, viewer=Viewer(role=Role.MARKETER, user_id=1))
    assert result.errors is None and result.data["node"] is None


async def test_erased_user_is_exposed_with_null_pii(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a user whose data was erased
    erased = await f.make_user(db, email=None, name=None, deleted_at=datetime(2024, 5, 1, tzinfo=UTC))

    # when the admin reads them
    result = await gql(USER, {"id": gid("User", erased.id)}, viewer=ADMIN)

    # then the row is there, flagged, with its PII null
    assert result.errors is None, result.errors
    assert result.data["user"] == {
        "id": gid("User", erased.id),
        "name": None,
        "email": None,
        "isErased": True,
    }


async def test_user_with_an_id_of_another_type_is_null(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    merchant = await f.make_merchant(db)
    result = await gql(USER, {"id": gid("Merchant", merchant.id)}, viewer=ADMIN)
    assert result.errors is None and result.data["user"] is None


async def test_user_with_a_malformed_id_is_bad_user_input(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(USER, {"id": gid("User", "not-a-number")}, viewer=ADMIN)  # type: ignore[arg-type]
    assert codes(result) == {"BAD_USER_INPUT"}
