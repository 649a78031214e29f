"""Tokens: access tokens (JWT, PyJWT, one pinned algorithm) and the opaque secrets of sessions.

Access tokens are typed twice (RFC 8725 §3.11): the header says `typ: at+jwt` (RFC 9068) and the
claims say `typ: access`; both are checked. Refresh tokens, password-reset tokens and API keys are
not JWTs: they are random strings stored only as SHA-256 digests and looked up in the database, so
rotation and revocation are one UPDATE, and no refresh token can ever pass as an access token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from core.errors import Unauthenticated
from core.settings import Settings
from core.viewer import ANONYMOUS, Role, Viewer

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
ISSUER = "swipesavvy-api"
AUDIENCE = "swipesavvy"
ACCESS_TYPE = "access"
ACCESS_HEADER_TYPE = "at+jwt"
SECRET_FILE = "jwt_secret"
MAX_BIGINT = 2**63 - 1


def signing_secret(settings: Settings) -> str:
    """JWT_SECRET; outside production a random secret kept in DATA_DIR is generated once."""
    if settings.jwt_secret:
        return settings.jwt_secret
    if settings.is_production:
        raise RuntimeError("JWT_SECRET must be set when APP_ENV=production")
    path = Path(settings.data_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
        log.warning("JWT_SECRET is unset: generated a development secret in %s", path)
    return path.read_text().strip()


def mint_access_token(
    *, secret: str, user_id: int | None, role: Role, merchant_id: int | None = None, ttl: timedelta
) -> str:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        "typ": ACCESS_TYPE,
        "role": role.value,
    }
    if user_id is not None:
        claims["sub"] = str(user_id)
    if merchant_id is not None:
        claims["mid"] = merchant_id
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"typ": ACCESS_HEADER_TYPE})


def viewer_from_token(token: str, *, secret: str) -> Viewer:
    """Verify signature, issuer, audience, expiry and type, and return the viewer it names."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "typ", "role"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("The access token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated("The access token is invalid.") from exc
    if claims.get("typ") != ACCESS_TYPE or jwt.get_unverified_header(token).get("typ") != ACCESS_HEADER_TYPE:
        raise Unauthenticated("The token is not an access token.")
    try:
        role = Role(claims["role"])
    except ValueError as exc:
        raise Unauthenticated("The access token names an unknown role.") from exc
    if role is Role.ANONYMOUS:
        raise Unauthenticated("The access token names an unknown role.")
    user_id = _row_id(claims["sub"]) if "sub" in claims else None
    merchant_id = _row_id(claims["mid"]) if "mid" in claims else None
    if role is Role.MERCHANT and merchant_id is None:
        raise Unauthenticated("A merchant token must name its merchant.")
    if role is not Role.SERVICE and user_id is None:
        raise Unauthenticated("The access token names no user.")
    return Viewer(role=role, user_id=user_id, merchant_id=merchant_id)


def _row_id(value: object) -> int:
    """The id a claim names (`sub`, a string of digits as RFC 7519 has it; `mid`, a JSON integer),
    within BIGINT. A validly signed token naming no possible row is as invalid as a forged one,
    rather than an error further down."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise Unauthenticated("The access token is invalid.")
    if not 0 < number <= MAX_BIGINT:
        raise Unauthenticated("The access token is invalid.")
    return number


def viewer_from_authorization(header: str | None, *, secret: str) -> Viewer:
    """The viewer named by an `Authorization: Bearer <jwt>` header; no header means anonymous."""
    if not header:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send the access token as `Authorization: Bearer <token>`.")
    return viewer_from_token(token.strip(), secret=secret)


def new_opaque_token() -> str:
    """A random secret (256 bits, URL-safe) for a refresh token, a reset link or an API key."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database stores for an opaque token: its SHA-256 (hex). The token has 256 random
    bits, so a fast hash is enough; only a password needs a slow one."""
    return hashlib.sha256(token.encode()).hexdigest()


def successor_refresh_token(token: str, *, secret: str) -> str:
    """The refresh token that replaces `token` at rotation: HMAC(secret, token).

    Derived rather than random so that a retry of the same refresh within the grace window can be
    answered with the same new pair without storing any plaintext: only the holder of the old
    token (and the server's secret) can compute it, and it is still unpredictable to anyone else.
    """
    mac = hmac.new(secret.encode(), b"refresh-successor\0" + token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
