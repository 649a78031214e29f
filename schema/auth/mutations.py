"""Authentication: login, sign-up, refresh-token rotation, logout, password reset, and the admins'
session revocation; AuthMutation adds the API keys (schema/auth/api_key_mutations.py).

The mutations that hand out secrets (login, signUp, refreshToken, createApiKey) refuse the
Idempotency-Key header: its stored responses would keep the tokens in the database in clear. A lost
refreshToken response is retried safely through the grace window instead (resolvers/auth/sessions.py).
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import strawberry
from strawberry import relay

from core.context import Ctx
from core.errors import ApiError, ErrorCode
from core.policies import ADMINS, EVERYONE, PEOPLE
from core.tokens import signing_secret
from resolvers.auth import sessions
from resolvers.auth import writes as auth
from resolvers.auth.throttles import (
    RESET_PER_EMAIL,
    RESET_PER_IP,
    SIGN_UP_PER_IP,
    AttemptThrottle,
    LoginThrottle,
)
from resolvers.outcomes import Problem, ProblemCode
from schema.auth.api_key_mutations import ApiKeyMutation
from schema.auth.types import AuthPayload, AuthSession, DonePayload, RevokeSessionsPayload, refuse_header_key
from schema.mutation_runner import UserError, not_an_id, pk_of, run_mutation
from schema.permissions import allow


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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
class SessionMutation:
    @strawberry.mutation(description="Sign in with email and password.", permission_classes=[allow(EVERYONE)])
    async def login(self, info: Ctx, input: LoginInput) -> AuthPayload | None:
        refuse_header_key(info)
        ctx = info.context
        throttle = LoginThrottle(ctx.redis, ctx.settings)
        retry_after = await throttle.retry_after(input.email, ctx.client_ip)
        if retry_after is not None:
            raise ApiError(
                "Too many failed sign-ins; try again later.",
                code=ErrorCode.RATE_LIMITED,
                retryAfter=retry_after,
            )

        pair, errors = await run_mutation(
            info,
            operation="login",
            input=input,
            write=lambda session, actor: auth.login(
                session=session,
                email=input.email,
                password=input.password,
                settings=ctx.settings,
                secret=signing_secret(ctx.settings),
                client=_client(info),
                now=_now(),
            ),
        )
        if pair is None:
            await throttle.failed(input.email, ctx.client_ip)
            return AuthPayload(session=None, user_errors=errors)
        await throttle.succeeded(input.email)
        return AuthPayload(session=AuthSession.from_pair(pair), user_errors=[])

    @strawberry.mutation(
        description=(
            "Ask for a customer account: the address gets a link to set the password (resetPassword),"
            " the same answer whether or not it has an account."
        ),
        permission_classes=[allow(EVERYONE)],
    )
    async def sign_up(self, info: Ctx, input: SignUpInput) -> AuthPayload | None:
        refuse_header_key(info)
        ctx = info.context
        throttle = AttemptThrottle(ctx.redis, ctx.settings, "sign-up")
        _refuse_after(await throttle.attempt(ip=ctx.client_ip, ip_limit=SIGN_UP_PER_IP))

        write = partial(
            auth.sign_up,
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
        refuse_header_key(info)
        ctx = info.context
        result, errors = await run_mutation(
            info,
            operation="refreshToken",
            input=input,
            write=lambda session, actor: sessions.rotate(
                session=session,
                presented=input.refresh_token,
                settings=ctx.settings,
                secret=signing_secret(ctx.settings),
                now=_now(),
            ),
        )
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

        done, errors = await run_mutation(
            info,
            operation="logout",
            input=input,
            write=lambda session, actor: sessions.end_session(
                session=session, user_id=user_id, presented=input.refresh_token, now=_now()
            ),
        )
        return DonePayload(ok=bool(done), user_errors=errors)

    @strawberry.mutation(
        description="Send a password-reset link to the account's owner (never says if it exists).",
        permission_classes=[allow(EVERYONE)],
    )
    async def request_password_reset(self, info: Ctx, input: RequestPasswordResetInput) -> DonePayload | None:
        ctx = info.context
        # Counted before the account is looked up: known and unknown emails are refused alike.
        throttle = AttemptThrottle(ctx.redis, ctx.settings, "reset")
        retry_after = await throttle.attempt(
            ip=ctx.client_ip, ip_limit=RESET_PER_IP, email=input.email, email_limit=RESET_PER_EMAIL
        )
        _refuse_after(retry_after)

        # The link is minted and sent by a job deferred in this transaction (resolvers/auth/reset_links.py).
        _, errors = await run_mutation(
            info,
            operation="requestPasswordReset",
            input=input,
            write=lambda session, actor: auth.request_password_reset(
                session=session, email=input.email, now=_now()
            ),
        )
        return DonePayload(ok=not errors, user_errors=errors)

    @strawberry.mutation(
        description="Set a new password with a reset link's token; every session of the account ends.",
        permission_classes=[allow(EVERYONE)],
    )
    async def reset_password(self, info: Ctx, input: ResetPasswordInput) -> DonePayload | None:
        write = partial(auth.reset_password, token=input.token, new_password=input.new_password, now=_now())
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
                user_errors=not_an_id("userId", "User"),
            )

        write = partial(sessions.end_user_sessions, user_id=user_id, now=_now())
        count, errors = await run_mutation(info, operation="revokeUserSessions", input=input, write=write)
        return RevokeSessionsPayload(revoked_count=count, user_errors=errors)


@strawberry.type
class AuthMutation(SessionMutation, ApiKeyMutation):
    pass
