"""Each role against each root field: refused with FORBIDDEN exactly where the matrix says.

The matrix is written out here, independently of the code's declarations, so a policy changed by
mistake fails this test. Calls are generated from the schema: required arguments get a value of
their type, object results select `__typename`.
"""

from __future__ import annotations

import pytest
from graphql import GraphQLField

from core.viewer import Role, Viewer
from tests.schema.calls import call, root_fields

A, M, N, ME, C, S, ANON = (
    Role.ADMIN,
    Role.MARKETER,
    Role.ANALYST,
    Role.MERCHANT,
    Role.CUSTOMER,
    Role.SERVICE,
    Role.ANONYMOUS,
)
STAFF = {A, M, N}
EVERYONE = set(Role)
WITH_ACCOUNT = {A, M, N, ME, C}

# Root field -> roles that may call it.
MATRIX: dict[str, set[Role]] = {
    "node": EVERYONE,
    "nodes": EVERYONE,
    "merchantCategories": EVERYONE,
    "merchant": EVERYONE,
    "merchants": EVERYONE,
    "campaign": STAFF | {ME, S},
    "campaigns": STAFF | {ME, S},
    "flags": STAFF,
    "flag": STAFF,
    "evaluateFlags": EVERYONE,
    "flagUsage": STAFF | {S},
    "experiments": STAFF,
    "experiment": STAFF,
    "myExperimentAssignments": WITH_ACCOUNT,
    "me": WITH_ACCOUNT,
    "user": {A, C},
    "users": {A},
    "topCampaigns": STAFF | {ME, S},
    "platformOverview": STAFF | {S},
    "auditLog": {A},
    "settings": {A},
    "mlModels": STAFF | {S},
    "activeModel": STAFF | {S},
    "myNotifications": WITH_ACCOUNT,
    "unreadNotificationCount": WITH_ACCOUNT,
    "myDevices": WITH_ACCOUNT,
    "myNotificationSettings": WITH_ACCOUNT,
    "notificationSends": {A, M},
    "notificationDeliveries": {A},
    "jobQueues": {A},
    "failedJobs": {A},
}
VIEWERS = {
    role: Viewer(role=role, user_id=None if role in (S, ANON) else 1, merchant_id=1 if role is ME else None)
    for role in Role
}


def _root_fields() -> dict[str, GraphQLField]:
    return root_fields("query")


def test_the_matrix_names_every_root_field() -> None:
    assert set(_root_fields()) == set(MATRIX)


@pytest.mark.parametrize("field_name", sorted(MATRIX))
@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
async def test_role_against_root_field(gql, field_name: str, role: Role) -> None:  # type: ignore[no-untyped-def]
    field = _root_fields().get(field_name)
    if field is None:
        pytest.fail(f"root field {field_name} is missing from the schema")
    result = await gql(call("query", field_name, field), viewer=VIEWERS[role])
    codes = {e.extensions.get("code") for e in result.errors or []}
    assert "INTERNAL" not in codes, result.errors
    if role in MATRIX[field_name]:
        assert "FORBIDDEN" not in codes, result.errors
    else:
        assert "FORBIDDEN" in codes, f"{role.value} reached {field_name}"
