"""Authentication's object types: sessions' tokens, API keys, and the payloads of the auth mutations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from strawberry import relay

from core.context import Ctx
from core.errors import BadUserInput
from core.policies import EVERYONE
from core.viewer import Role
from models.auth import ApiKeyRole as ModelApiKeyRole
from resolvers.auth import sessions
from schema.mutation_runner import UserError
from schema.permissions import type_policy

ApiKeyRole = strawberry.enum(ModelApiKeyRole, name="ApiKeyRole", description="What an API key may do.")


@type_policy(EVERYONE)
@strawberry.type(description="A signed-in session: send the access token as `Authorization: Bearer`.")
class AuthSession:
    access_token: str = strawberry.field(description="JWT for `Authorization: Bearer`; short-lived.")
    access_token_expires_at: dt.datetime = strawberry.field(description="When it stops working (UTC).")
    refresh_token: str = strawberry.field(
        description="Exchange it with refreshToken for a new pair; each one works once."
    )
    refresh_token_expires_at: dt.datetime = strawberry.field(description="When it stops working (UTC).")
    role: str = strawberry.field(description="The role the session acts with.")

    @classmethod
    def from_pair(cls, pair: sessions.TokenPair) -> AuthSession:
        return cls(
            access_token=pair.access_token,
            access_token_expires_at=pair.access_token_expires_at,
            refresh_token=pair.refresh_token,
            refresh_token_expires_at=pair.refresh_token_expires_at,
            role=pair.role,
        )


@type_policy(EVERYONE)
@strawberry.type(description="A new session, or why none was opened.")
class AuthPayload:
    session: AuthSession | None = strawberry.field(description="The tokens; null on failure.")
    user_errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")


@type_policy(EVERYONE)
@strawberry.type(description="Whether it was done, or why not.")
class DonePayload:
    ok: bool = strawberry.field(description="True when done.")
    user_errors: list[UserError] = strawberry.field(description="Why not; empty on success.")


@type_policy(Role.ADMIN)
@strawberry.type(description="A service credential; its secret is shown only when it is created.")
class ApiKey:
    id: relay.GlobalID = strawberry.field(description="Global id (for revokeApiKey).")
    name: str = strawberry.field(description="What it is for.")
    prefix: str = strawberry.field(description="The key's first characters, to recognise it.")
    role: ApiKeyRole = strawberry.field(description="The role it acts with.")
    merchant_id: relay.GlobalID | None = strawberry.field(description="Its merchant (merchant keys).")
    expires_at: dt.datetime | None = strawberry.field(description="When it stops working (UTC).")
    revoked_at: dt.datetime | None = strawberry.field(description="When it was revoked (UTC).")
    last_used_at: dt.datetime | None = strawberry.field(description="Last use, to the minute (UTC).")
    created_at: dt.datetime = strawberry.field(description="Creation (UTC).")

    @classmethod
    def from_row(cls, row: Any) -> ApiKey:
        mid = row.merchant_id
        return cls(
            id=relay.GlobalID("ApiKey", str(row.id)),
            name=row.name,
            prefix=row.prefix,
            role=ModelApiKeyRole(row.role),
            merchant_id=None if mid is None else relay.GlobalID("Merchant", str(mid)),
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
            created_at=row.created_at,
        )


@type_policy(Role.ADMIN)
@strawberry.type(description="The new key: copy `key` now, it is never shown again.")
class CreateApiKeyPayload:
    api_key: ApiKey | None = strawberry.field(description="The key's record.")
    key: str | None = strawberry.field(description="The secret to send as X-API-Key; shown once.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input.")


@type_policy(Role.ADMIN)
@strawberry.type(description="The revoked key, or why not.")
class ApiKeyPayload:
    api_key: ApiKey | None = strawberry.field(description="The key after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input.")


@type_policy(Role.ADMIN)
@strawberry.type(description="How many sessions were ended.")
class RevokeSessionsPayload:
    revoked_count: int | None = strawberry.field(description="Sessions revoked (0 when none was open).")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input.")


def refuse_header_key(info: Ctx) -> None:
    """Refuse the Idempotency-Key header for a payload holding secrets: it would store them in clear."""
    if info.context.idempotency_key:
        raise BadUserInput(
            "This mutation returns secrets and takes no Idempotency-Key.", field="Idempotency-Key"
        )
