"""The admins' API keys for services: created with a secret shown once, revoked at once."""

from __future__ import annotations

import datetime as dt
from functools import partial

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import ADMINS
from models.auth import ApiKeyRole as ModelApiKeyRole
from resolvers.auth import api_keys
from resolvers.outcomes import ProblemCode
from schema.auth.types import ApiKey, ApiKeyPayload, ApiKeyRole, CreateApiKeyPayload, refuse_header_key
from schema.mutation_runner import UserError, not_an_id, pk_of, run_mutation
from schema.permissions import allow


@strawberry.input(description="A new API key.")
class CreateApiKeyInput:
    name: str = strawberry.field(description="What it is for (1-100 characters).")
    role: ApiKeyRole = strawberry.field(description="The role it acts with.")
    merchant_id: relay.GlobalID | None = strawberry.field(default=None, description="Merchant keys only.")
    expires_at: dt.datetime | None = strawberry.field(default=None, description="Optional expiry (UTC).")


@strawberry.input(description="An API key.")
class ApiKeyIdInput:
    id: relay.GlobalID = strawberry.field(description="The key.")


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(
        description="Create an API key; its secret is shown once (admins).",
        permission_classes=[allow(ADMINS)],
    )
    async def create_api_key(self, info: Ctx, input: CreateApiKeyInput) -> CreateApiKeyPayload | None:
        refuse_header_key(info)
        merchant_id = None
        if input.merchant_id is not None:
            merchant_id = pk_of(input.merchant_id, "Merchant")
            if merchant_id is None:
                return CreateApiKeyPayload(
                    api_key=None, key=None, user_errors=not_an_id("merchantId", "Merchant")
                )

        write = partial(
            api_keys.create_api_key,
            name=input.name,
            role=ModelApiKeyRole(input.role),
            merchant_id=merchant_id,
            expires_at=input.expires_at,
            now=dt.datetime.now(dt.UTC),
        )
        created, errors = await run_mutation(info, operation="createApiKey", input=input, write=write)
        if created is None:
            return CreateApiKeyPayload(api_key=None, key=None, user_errors=errors)
        return CreateApiKeyPayload(api_key=ApiKey.from_row(created.row), key=created.key, user_errors=[])

    @strawberry.mutation(
        description="Revoke an API key at once (admins).", permission_classes=[allow(ADMINS)]
    )
    async def revoke_api_key(self, info: Ctx, input: ApiKeyIdInput) -> ApiKeyPayload | None:
        key_id = pk_of(input.id, "ApiKey")
        if key_id is None:
            missing = UserError(field="id", message="Not an ApiKey id.", code=ProblemCode.NOT_FOUND)
            return ApiKeyPayload(api_key=None, user_errors=[missing])

        write = partial(api_keys.revoke_api_key, key_id=key_id, now=dt.datetime.now(dt.UTC))
        row, errors = await run_mutation(info, operation="revokeApiKey", input=input, write=write)
        return ApiKeyPayload(api_key=None if row is None else ApiKey.from_row(row), user_errors=errors)
