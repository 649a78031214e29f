"""Each role against each root field: refused with FORBIDDEN exactly where the matrix says.

The matrix is written out here, independently of the code's declarations, so a policy changed by
mistake fails this test. Calls are generated from the schema: required arguments get a value of
their type, object results select `__typename`.
"""

from __future__ import annotations

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
    is_leaf_type,
)
from strawberry import relay

from core.viewer import Role, Viewer
from schema import schema

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
}
FEDERATION = {"_service", "_entities"}
VIEWERS = {
    role: Viewer(role=role, user_id=None if role in (S, ANON) else 1, merchant_id=1 if role is ME else None)
    for role in Role
}


def _value(gql_type: GraphQLInputType) -> str:
    if isinstance(gql_type, GraphQLNonNull):
        return _value(gql_type.of_type)
    if isinstance(gql_type, GraphQLList):
        return f"[{_value(gql_type.of_type)}]"
    if isinstance(gql_type, GraphQLEnumType):
        return next(iter(gql_type.values))
    if isinstance(gql_type, GraphQLInputObjectType):
        required = [
            f"{name}: {_value(f.type)}"
            for name, f in gql_type.fields.items()
            if isinstance(f.type, GraphQLNonNull)
        ]
        return "{" + ", ".join(required) + "}"
    assert isinstance(gql_type, GraphQLScalarType)
    return {
        # a type every role may see, so node(id) itself is what is tested
        "ID": f'"{relay.to_base64("MerchantCategory", 1)}"',
        "String": '"x"',
        "Int": "1",
        "Float": "1.0",
        "Boolean": "true",
        "Date": '"2024-01-01"',
        "DateTime": '"2024-01-01T00:00:00+00:00"',
        "Decimal": '"1"',
    }.get(gql_type.name, '"x"')


def _call(name: str, field: GraphQLField) -> str:
    args = [
        f"{a}: {_value(arg.type)}" for a, arg in field.args.items() if isinstance(arg.type, GraphQLNonNull)
    ]
    arguments = f"({', '.join(args)})" if args else ""
    selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
    return f"{{ {name}{arguments}{selection} }}"


def _root_fields() -> dict[str, GraphQLField]:
    return {n: f for n, f in schema._schema.query_type.fields.items() if n not in FEDERATION}


def test_the_matrix_names_every_root_field() -> None:
    assert set(_root_fields()) == set(MATRIX)


@pytest.mark.parametrize("field_name", sorted(MATRIX))
@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
async def test_role_against_root_field(gql, field_name: str, role: Role) -> None:  # type: ignore[no-untyped-def]
    field = _root_fields().get(field_name)
    if field is None:
        pytest.fail(f"root field {field_name} is missing from the schema")
    result = await gql(_call(field_name, field), viewer=VIEWERS[role])
    codes = {e.extensions.get("code") for e in result.errors or []}
    assert "INTERNAL" not in codes, result.errors
    if role in MATRIX[field_name]:
        assert "FORBIDDEN" not in codes, result.errors
    else:
        assert "FORBIDDEN" in codes, f"{role.value} reached {field_name}"
