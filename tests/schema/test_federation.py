"""The federation entry points: `_entities` applies the same type policy and visibility as node(id);
`_service { sdl }` follows the introspection switch, and where introspection is off only a service API
key gets it, and only with FEDERATION_SDL_ENABLED."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.settings import AppEnv, Settings
from core.viewer import ANONYMOUS, Role, Viewer
from schema import schema
from tests.models import factories as f
from tests.support import context

SDL = "{ _service { sdl } }"

ENTITIES = """
query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on Campaign { id name } } }
"""


def _rep(campaign_id: int) -> dict[str, str]:
    return {"__typename": "Campaign", "id": relay.to_base64("Campaign", campaign_id)}


async def test_entities_resolve_for_an_allowed_viewer(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await f.make_campaign(db)
    result = await gql(ENTITIES, {"reps": [_rep(campaign.id)]}, viewer=Viewer(role=Role.ADMIN, user_id=1))
    assert result.errors is None
    assert result.data["_entities"] == [
        {"id": relay.to_base64("Campaign", campaign.id), "name": campaign.name}
    ]


async def test_entities_refuse_a_type_the_viewer_may_not_see(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await f.make_campaign(db)
    result = await gql(ENTITIES, {"reps": [_rep(campaign.id)]}, viewer=ANONYMOUS)
    assert result.data["_entities"] == [None]
    assert result.errors[0].extensions["code"] == "FORBIDDEN"


async def test_entities_hide_another_merchants_campaign(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    other = await f.make_campaign(db, merchant_id=(await f.make_merchant(db)).id)
    merchant = await f.make_merchant(db)
    viewer = Viewer(role=Role.MERCHANT, user_id=1, merchant_id=merchant.id)
    result = await gql(ENTITIES, {"reps": [_rep(other.id)]}, viewer=viewer)
    assert result.errors is None
    assert result.data["_entities"] == [None]


@pytest.mark.parametrize(
    "representation", ["x", 7, None, ["Campaign"]], ids=["string", "number", "null", "list"]
)
async def test_a_representation_that_is_not_an_object_is_the_callers_error(
    db: AsyncSession, gql, representation: object
) -> None:  # type: ignore[no-untyped-def]
    result = await gql(ENTITIES, {"reps": [representation]}, viewer=Viewer(role=Role.ADMIN, user_id=1))

    assert result.data == {"_entities": [None]} or result.data is None
    assert [e.extensions["code"] for e in result.errors] == ["BAD_USER_INPUT"]


SERVICE_KEY = Viewer(role=Role.SERVICE, api_key_id=1)
ADMIN = Viewer(role=Role.ADMIN, user_id=1)
CUSTOMER = Viewer(role=Role.CUSTOMER, user_id=1)


async def _sdl(db: AsyncSession, settings: Settings, viewer: Viewer, **overrides: object) -> object:
    return await schema.execute(SDL, context_value=context(db, settings.model_copy(update=overrides), viewer))


@pytest.mark.parametrize(
    "viewer", [ANONYMOUS, CUSTOMER, ADMIN, SERVICE_KEY], ids=["anonymous", "customer", "admin", "service key"]
)
async def test_production_publishes_no_sdl_by_default(
    db: AsyncSession, settings: Settings, viewer: Viewer
) -> None:
    result = await _sdl(db, settings, viewer, app_env=AppEnv.PRODUCTION)

    assert result.data is None  # type: ignore[attr-defined]
    assert [e.message for e in result.errors] == [  # type: ignore[attr-defined]
        "GraphQL introspection has been disabled, but the requested query contained the field '_service'."
    ]


@pytest.mark.parametrize("viewer", [ANONYMOUS, CUSTOMER, ADMIN], ids=["anonymous", "customer", "admin"])
async def test_with_the_federation_setting_only_a_service_key_gets_the_sdl(
    db: AsyncSession, settings: Settings, viewer: Viewer
) -> None:
    enabled = {"app_env": AppEnv.PRODUCTION, "federation_sdl_enabled": True}

    router = await _sdl(db, settings, SERVICE_KEY, **enabled)
    other = await _sdl(db, settings, viewer, **enabled)

    assert router.errors is None  # type: ignore[attr-defined]
    assert "type Query" in router.data["_service"]["sdl"]  # type: ignore[attr-defined]
    assert other.data is None  # type: ignore[attr-defined]


async def test_where_introspection_is_on_the_sdl_is_too(db: AsyncSession, settings: Settings) -> None:
    development = await _sdl(db, settings, ANONYMOUS, app_env=AppEnv.DEVELOPMENT)
    switched_on = await _sdl(db, settings, ANONYMOUS, app_env=AppEnv.PRODUCTION, introspection=True)

    for result in (development, switched_on):
        assert result.errors is None  # type: ignore[attr-defined]
        assert "type Query" in result.data["_service"]["sdl"]  # type: ignore[attr-defined]
