"""Every mutation domain, continued (test_fresh_after_write.py says how): users, auth and admin.

Writes a query cannot see are left out, and say why: `requestPasswordReset`, `logout` and
`refreshToken` change only token tables no field reads.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.passwords import hash_password_sync
from core.tokens import token_digest
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
    read,
    rows,
    staff_fixture,
)
from tests.models import factories as f

NOW = dt.datetime.now(dt.UTC)
ME = """
{
  me {
    name email lastLoginAt
    accounts { lastFour status }
    transactions(first: 5) { totalCount }
    rewardsLedger(first: 5) { totalCount edges { node { kind points } } }
  }
}
"""
BALANCE = "{ me { rewardPoints } }"
USER = "query ($id: ID!) { user(id: $id) { name email isErased } }"
AUDIT = """
query ($type: String!) {
  auditLog(first: 10, filter: {entityType: $type}) { totalCount edges { node { action } } }
}
"""


async def _customer(api: Api, *, points: int = 0) -> tuple[int, Headers]:
    user_id, headers = await person(api, Role.CUSTOMER)
    if points:
        await rows(api, f.make_reward_entry, user_id=user_id, points=points)
    return user_id, headers


def _audited(before: Any, after: Any) -> list[str]:
    """The actions the audit log gained."""
    assert after["auditLog"]["totalCount"] > before["auditLog"]["totalCount"]
    return [e["node"]["action"] for e in after["auditLog"]["edges"]]


# -------------------------------------------------------------------------------------------- users


async def test_a_profile_and_linked_accounts_changed_by_the_customer(api: Api) -> None:
    _, customer = await _customer(api)
    me = Read(customer, ME)

    [(_, renamed)] = await fresh_after(api, [me], mutation(api, customer, "updateMyProfile", name="Zoë"))
    link = mutation(
        api, customer, "linkAccount", kind="DEBIT_CARD", institution="Bank", lastFour="4321", currency="USD"
    )
    [(_, linked)] = await fresh_after(api, [me], link)
    account = linked  # the account's id, for unlinking, is the node's: read it fresh
    found = await api.post(api.fresh, customer, "{ me { accounts { id } } }", None)
    (account_id,) = [a["id"] for a in found.json()["data"]["me"]["accounts"]]
    [(_, unlinked)] = await fresh_after(api, [me], mutation(api, customer, "unlinkAccount", id=account_id))

    assert renamed["me"]["name"] == "Zoë"
    assert account["me"]["accounts"] == [{"lastFour": "4321", "status": "ACTIVE"}]
    assert unlinked["me"]["accounts"] in ([], [{"lastFour": "4321", "status": "UNLINKED"}])


async def test_a_redemption_shows_in_the_ledger(api: Api) -> None:
    _, customer = await _customer(api, points=500)

    [(before, after)] = await fresh_after(
        api, [Read(customer, ME)], mutation(api, customer, "redeemRewards", points=120)
    )

    ledger = [before["me"]["rewardsLedger"]["totalCount"], after["me"]["rewardsLedger"]["totalCount"]]
    assert ledger == [1, 2]
    assert {"kind": "REDEEM", "points": -120} in [e["node"] for e in after["me"]["rewardsLedger"]["edges"]]


async def test_a_redemption_shows_in_the_balance(api: Api) -> None:
    """The balance is written by the rewards_ledger trigger (migration 0002), not by the mutation."""
    _, customer = await _customer(api, points=500)

    [(before, after)] = await fresh_after(
        api, [Read(customer, BALANCE)], mutation(api, customer, "redeemRewards", points=120)
    )

    assert (before["me"]["rewardPoints"], after["me"]["rewardPoints"]) == (500, 380)


async def _transaction(api: Api, user_id: int, staff: dict[str, Headers]) -> Any:
    account = await rows(api, f.make_account, user_id=user_id)
    return mutation(
        api, staff["admin"], "recordTransaction",
        externalRef=f"proc-{f.seq()}", userId=gid("User", user_id), accountId=gid("Account", account.id),
        amount="40.00", currency="USD", category="DINING", status="POSTED", occurredAt=NOW.isoformat(),
    )  # fmt: skip


async def test_a_recorded_transaction_shows_in_the_customers_lists(
    api: Api, staff: dict[str, Headers]
) -> None:
    user_id, customer = await _customer(api)
    record = await _transaction(api, user_id, staff)

    [(before, after)] = await fresh_after(api, [Read(customer, ME)], record)

    assert (before["me"]["transactions"]["totalCount"], after["me"]["transactions"]["totalCount"]) == (0, 1)
    assert after["me"]["rewardsLedger"]["totalCount"] == 1  # the points it earned


async def test_a_recorded_transaction_shows_in_the_balance(api: Api, staff: dict[str, Headers]) -> None:
    """The points it earned move the balance through the same trigger."""
    user_id, customer = await _customer(api)
    record = await _transaction(api, user_id, staff)

    [(before, after)] = await fresh_after(api, [Read(customer, BALANCE)], record)

    assert before["me"]["rewardPoints"] == 0 and after["me"]["rewardPoints"] > 0


async def test_an_erased_account_as_admins_see_it(api: Api, staff: dict[str, Headers]) -> None:
    user_id, customer = await _customer(api)
    profile = Read(staff["admin"], USER, {"id": gid("User", user_id)})

    [(before, after)] = await fresh_after(
        api, [profile], mutation(api, customer, "deleteMyAccount", confirm=True)
    )

    assert before["user"]["isErased"] is False and after["user"]["isErased"] is True


# --------------------------------------------------------------------------------------------- auth

PASSWORD = "correct horse battery staple"


async def test_a_login_shows_in_the_profile_and_a_reset_in_the_audit(
    api: Api, staff: dict[str, Headers]
) -> None:
    email = f"fresh{f.seq()}@example.com"
    user_id, customer = await person(
        api, Role.CUSTOMER, email=email, password_hash=hash_password_sync(PASSWORD)
    )
    login = """
    mutation ($email: String!, $password: String!) {
      login(input: {email: $email, password: $password}) { session { role } userErrors { code } }
    }
    """
    [(before, after)] = await fresh_after(
        api, [Read(customer, ME)], lambda: api.write({}, login, {"email": email, "password": PASSWORD})
    )
    assert before["me"]["lastLoginAt"] is None and after["me"]["lastLoginAt"] is not None

    await rows(api, f.make_password_reset_token, user_id=user_id, token_hash=token_digest("fresh-reset"))
    reset = mutation(
        api, {}, "resetPassword", token="fresh-reset", newPassword="another horse battery staple"
    )
    [(audit_before, audit_after)] = await fresh_after(
        api, [Read(staff["admin"], AUDIT, {"type": "user"})], reset
    )
    assert "user.reset_password" in _audited(audit_before, audit_after)

    revoke = mutation(api, staff["admin"], "revokeUserSessions", userId=gid("User", user_id))
    [(audit_before, audit_after)] = await fresh_after(
        api, [Read(staff["admin"], AUDIT, {"type": "user"})], revoke
    )
    assert "user.revoke_sessions" in _audited(audit_before, audit_after)


async def test_a_sign_up_as_admins_see_it(api: Api, staff: dict[str, Headers]) -> None:
    word = f"Freshling{f.seq()}"
    found = Read(
        staff["admin"],
        "query ($q: String!) { users(first: 5, filter: {search: $q}) { totalCount } }",
        {"q": word},
    )
    sign_up = mutation(api, {}, "signUp", email=f"{word.lower()}@example.com", password=PASSWORD, name=word)

    [(before, after)] = await fresh_after(api, [found], sign_up)

    assert (before["users"]["totalCount"], after["users"]["totalCount"]) == (0, 1)


async def test_api_keys_created_and_revoked_show_in_the_audit(api: Api, staff: dict[str, Headers]) -> None:
    audit = Read(staff["admin"], AUDIT, {"type": "api_key"})
    created: dict[str, Any] = {}
    create = """
    mutation ($name: String!) {
      createApiKey(input: {name: $name, role: SERVICE}) { apiKey { id } userErrors { code } }
    }
    """

    async def create_key() -> None:
        created.update(await api.write(staff["admin"], create, {"name": f"key {f.seq()}"}))

    [(before, after)] = await fresh_after(api, [audit], create_key)
    assert "api_key.create" in _audited(before, after)
    revoke = mutation(api, staff["admin"], "revokeApiKey", id=created["apiKey"]["id"])
    [(before, after)] = await fresh_after(api, [audit], revoke)
    assert "api_key.revoke" in _audited(before, after)


# -------------------------------------------------------------------------------------------- admin


async def test_a_setting_changed_shows_in_the_audit(api: Api, staff: dict[str, Headers]) -> None:
    key = f"fresh.{f.seq()}"
    audit = Read(staff["admin"], AUDIT, {"type": "setting"})

    [(before, after)] = await fresh_after(
        api, [audit], mutation(api, staff["admin"], "updateSetting", key=key, value=1)
    )
    [(_, again)] = await fresh_after(
        api, [audit], mutation(api, staff["admin"], "updateSetting", key=key, value=2)
    )

    assert "setting.create" in _audited(before, after)
    assert "setting.update" in _audited(after, again)
