"""Authentication: login, sign-up, refresh-token rotation, logout, password reset, and the admins'
session revocation and API keys.

The mutations that hand out secrets (login, signUp, refreshToken, createApiKey) refuse the
Idempotency-Key header: its stored responses would keep the tokens in the database in clear. A lost
refreshToken response is retried safely through the grace window instead (resolvers/auth/sessions.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.context import Ctx
from core.errors import ApiError, BadUserInput, ErrorCode
from core.notifier import RESET_LINK, notifier_for
from core.policies import ADMINS, EVERYONE, PEOPLE
from core.tokens import signing_secret
from core.viewer import Role
from models.admin import ApiKeyRole as ModelApiKeyRole
from models.users import User
from resolvers.audit import Actor, record_change
from resolvers.auth import api_keys, sessions
from resolvers.auth import writes as auth
from resolvers.outcomes import Outcome, Problem, ProblemCode
from schema.mutation_runner import UserError, pk_of, run_mutation
from schema.permissions import allow, type_policy

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


@strawberry.input(description="Credentials.")
class LoginInput:
    email: str = strawberry.field(description="The account's email.")
    password: str = strawberry.field(description="Its password.")


@strawberry.input(description="A new customer account.")
class SignUpInput:
    email: str = strawberry.field(description="Email (unique).")
    password: str = strawberry.field(description="At least 10 characters.")
    name: str | None = strawberry.field(default=None, description="Display name (up to 200).")


@strawberry.input(description="A refresh token.")
class RefreshTokenInput:
    refresh_token: str = strawberry.field(description="The refresh token of the session.")


@strawberry.input(description="The account that forgot its password.")
class RequestPasswordResetInput:
    email: str = strawberry.field(description="The account's email.")


@strawberry.input(description="A reset link's token and the new password.")
class ResetPasswordInput:
    token: str = strawberry.field(description="The token of the reset link.")
    new_password: str = strawberry.field(description="At least 10 characters.")


@strawberry.input(description="Whose sessions to end.")
class RevokeUserSessionsInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.")


@strawberry.input(description="A new API key.")
class CreateApiKeyInput:
    name: str = strawberry.field(description="What it is for (1-100 characters).")
    role: ApiKeyRole = strawberry.field(description="The role it acts with.")
    merchant_id: relay.GlobalID | None = strawberry.field(default=None, description="Merchant keys only.")
    expires_at: dt.datetime | None = strawberry.field(default=None, description="Optional expiry (UTC).")


@strawberry.input(description="An API key.")
class ApiKeyIdInput:
    id: relay.GlobalID = strawberry.field(description="The key.")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _no_header_key(info: Ctx) -> None:
    if info.context.idempotency_key:
        raise BadUserInput(
            "This mutation returns secrets and takes no Idempotency-Key.", field="Idempotency-Key"
        )


def _client(info: Ctx) -> auth.Client:
    request = info.context.request
    agent = request.headers.get("user-agent") if request is not None else None
    return auth.Client(user_agent=agent, ip_address=info.context.client_ip)


def _refuse_after(retry_after: int | None) -> None:
    if retry_after is not None:
        raise ApiError(
            "Too many attempts; try again later.", code=ErrorCode.RATE_LIMITED, retryAfter=retry_after
        )


def _errors(problem: Problem) -> list[UserError]:
    return [UserError.from_problem(problem)]


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Sign in with email and password.", permission_classes=[allow(EVERYONE)])
    async def login(self, info: Ctx, input: LoginInput) -> AuthPayload | None:
        _no_header_key(info)
        ctx = info.context
        throttle = auth.LoginThrottle(ctx.redis, ctx.settings)
        retry_after = await throttle.retry_after(input.email, ctx.client_ip)
        if retry_after is not None:
            raise ApiError(
                "Too many failed sign-ins; try again later.",
                code=ErrorCode.RATE_LIMITED,
                retryAfter=retry_after,
            )

        async def write(session: AsyncSession, actor: Actor) -> Outcome[sessions.TokenPair]:
            return await auth.login(
                session=session,
                email=input.email,
                password=input.password,
                settings=ctx.settings,
                secret=signing_secret(ctx.settings),
                client=_client(info),
                now=_now(),
            )

        pair, errors = await run_mutation(info, operation="login", input=input, write=write)
        if pair is None:
            await throttle.failed(input.email, ctx.client_ip)
            return AuthPayload(session=None, user_errors=errors)
        await throttle.succeeded(input.email)
        return AuthPayload(session=AuthSession.from_pair(pair), user_errors=[])

    @strawberry.mutation(
        description="Create a customer account and sign in.", permission_classes=[allow(EVERYONE)]
    )
    async def sign_up(self, info: Ctx, input: SignUpInput) -> AuthPayload | None:
        _no_header_key(info)
        ctx = info.context
        throttle = auth.AttemptThrottle(ctx.redis, ctx.settings, "sign-up")
        _refuse_after(await throttle.attempt(ip=ctx.client_ip, ip_limit=auth.SIGN_UP_PER_IP))

        async def write(session: AsyncSession, actor: Actor) -> Outcome[sessions.TokenPair]:
            return await auth.sign_up(
                session=session,
                actor=actor,
                email=input.email,
                password=input.password,
                name=input.name,
                settings=ctx.settings,
                secret=signing_secret(ctx.settings),
                client=_client(info),
                now=_now(),
            )

        pair, errors = await run_mutation(info, operation="signUp", input=input, write=write)
        return AuthPayload(session=None if pair is None else AuthSession.from_pair(pair), user_errors=errors)

    @strawberry.mutation(
        description="Exchange a refresh token for a new pair; the old token stops working.",
        permission_classes=[allow(EVERYONE)],
    )
    async def refresh_token(self, info: Ctx, input: RefreshTokenInput) -> AuthPayload | None:
        _no_header_key(info)
        ctx = info.context

        async def write(session: AsyncSession, actor: Actor) -> Outcome[sessions.RefreshResult]:
            result = await sessions.rotate(
                session=session,
                presented=input.refresh_token,
                settings=ctx.settings,
                secret=signing_secret(ctx.settings),
                now=_now(),
            )
            return Outcome(value=result)

        result, errors = await run_mutation(info, operation="refreshToken", input=input, write=write)
        if result is None or result.pair is None:
            return AuthPayload(
                session=None, user_errors=errors or _errors(result.problem or sessions.INVALID)
            )
        return AuthPayload(session=AuthSession.from_pair(result.pair), user_errors=[])

    @strawberry.mutation(
        description="Sign out: the session's refresh tokens stop working.", permission_classes=[allow(PEOPLE)]
    )
    async def logout(self, info: Ctx, input: RefreshTokenInput) -> DonePayload | None:
        user_id = info.context.viewer.user_id
        if user_id is None:
            return DonePayload(
                ok=False, user_errors=_errors(Problem(None, "Only people sign out.", ProblemCode.FORBIDDEN))
            )

        async def write(session: AsyncSession, actor: Actor) -> Outcome[bool]:
            problem = await sessions.end_session(
                session=session, user_id=user_id, presented=input.refresh_token, now=_now()
            )
            return Outcome(value=True) if problem is None else Outcome.refused([problem])

        done, errors = await run_mutation(info, operation="logout", input=input, write=write)
        return DonePayload(ok=bool(done), user_errors=errors)

    @strawberry.mutation(
        description="Send a password-reset link to the account's owner (never says if it exists).",
        permission_classes=[allow(EVERYONE)],
    )
    async def request_password_reset(self, info: Ctx, input: RequestPasswordResetInput) -> DonePayload | None:
        ctx = info.context
        # Counted before the account is looked up: known and unknown emails are refused alike.
        throttle = auth.AttemptThrottle(ctx.redis, ctx.settings, "reset")
        retry_after = await throttle.attempt(
            ip=ctx.client_ip,
            ip_limit=auth.RESET_PER_IP,
            email=input.email,
            email_limit=auth.RESET_PER_EMAIL,
        )
        _refuse_after(retry_after)

        async def write(session: AsyncSession, actor: Actor) -> Outcome[auth.ResetRequest | None]:
            return Outcome(
                value=await auth.request_password_reset(
                    session=session, email=input.email, settings=ctx.settings, now=_now()
                )
            )

        request, errors = await run_mutation(info, operation="requestPasswordReset", input=input, write=write)
        # Delivered after the commit: a link is never sent for a token that was not stored.
        if request is not None:
            link = RESET_LINK.format(token=request.token)
            await notifier_for(ctx.settings).send_password_reset(email=request.email, link=link)
        return DonePayload(ok=not errors, user_errors=errors)

    @strawberry.mutation(
        description="Set a new password with a reset link's token; every session of the account ends.",
        permission_classes=[allow(EVERYONE)],
    )
    async def reset_password(self, info: Ctx, input: ResetPasswordInput) -> DonePayload | None:
        async def write(session: AsyncSession, actor: Actor) -> Outcome[int]:
            return await auth.reset_password(
                session=session, actor=actor, token=input.token, new_password=input.new_password, now=_now()
            )

        user_id, errors = await run_mutation(info, operation="resetPassword", input=input, write=write)
        return DonePayload(ok=user_id is not None, user_errors=errors)

    @strawberry.mutation(
        description="End every session of a user (admins).", permission_classes=[allow(ADMINS)]
    )
    async def revoke_user_sessions(
        self, info: Ctx, input: RevokeUserSessionsInput
    ) -> RevokeSessionsPayload | None:
        user_id = pk_of(input.user_id, "User")
        if user_id is None:
            return RevokeSessionsPayload(
                revoked_count=None,
                user_errors=_errors(Problem("user_id", "Not a User id.", ProblemCode.NOT_FOUND)),
            )

        async def write(session: AsyncSession, actor: Actor) -> Outcome[int]:
            if await session.get(User, user_id) is None:
                return Outcome.one_problem("user_id", "No such user.", ProblemCode.NOT_FOUND)
            count = await sessions.revoke_user_sessions(session, user_id=user_id, reason="admin", now=_now())
            await record_change(
                session,
                actor=actor,
                action="user.revoke_sessions",
                entity_type="user",
                entity_id=user_id,
                after={"revoked_sessions": count},
            )
            return Outcome(value=count)

        count, errors = await run_mutation(info, operation="revokeUserSessions", input=input, write=write)
        return RevokeSessionsPayload(revoked_count=count, user_errors=errors)

    @strawberry.mutation(
        description="Create an API key; its secret is shown once (admins).",
        permission_classes=[allow(ADMINS)],
    )
    async def create_api_key(self, info: Ctx, input: CreateApiKeyInput) -> CreateApiKeyPayload | None:
        _no_header_key(info)
        merchant_id = None
        if input.merchant_id is not None:
            merchant_id = pk_of(input.merchant_id, "Merchant")
            if merchant_id is None:
                problem = Problem("merchant_id", "Not a Merchant id.", ProblemCode.NOT_FOUND)
                return CreateApiKeyPayload(api_key=None, key=None, user_errors=_errors(problem))

        async def write(session: AsyncSession, actor: Actor) -> Outcome[api_keys.CreatedKey]:
            return await api_keys.create_api_key(
                session=session,
                actor=actor,
                name=input.name,
                role=ModelApiKeyRole(input.role),
                merchant_id=merchant_id,
                expires_at=input.expires_at,
                now=_now(),
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
            problem = Problem("id", "Not an ApiKey id.", ProblemCode.NOT_FOUND)
            return ApiKeyPayload(api_key=None, user_errors=_errors(problem))

        async def write(session: AsyncSession, actor: Actor) -> Outcome[Any]:
            return await api_keys.revoke_api_key(session=session, actor=actor, key_id=key_id, now=_now())

        row, errors = await run_mutation(info, operation="revokeApiKey", input=input, write=write)
        return ApiKeyPayload(api_key=None if row is None else ApiKey.from_row(row), user_errors=errors)
