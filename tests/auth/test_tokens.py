"""core/tokens.py: access tokens are refused when expired, forged, unsigned (`alg: none`), for
another audience or issuer, or of another type; refresh tokens are opaque and never pass as access."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from core.errors import Unauthenticated
from core.settings import AppEnv, Settings
from core.tokens import (
    ALGORITHM,
    AUDIENCE,
    ISSUER,
    mint_access_token,
    new_opaque_token,
    signing_secret,
    successor_refresh_token,
    token_digest,
    viewer_from_authorization,
    viewer_from_token,
)
from core.viewer import Role, Viewer

SECRET = "a-test-secret-long-enough-for-hs512-0123456789abcdefghijklmnopqrstuvwxyz"


def _claims(**changes: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": "j1",
        "typ": "access",
        "role": "admin",
        "sub": "7",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(
    claims: dict[str, object], *, secret: str = SECRET, typ: str = "at+jwt", alg: str = ALGORITHM
) -> str:
    return jwt.encode(claims, secret, algorithm=alg, headers={"typ": typ})


def test_a_minted_token_names_its_viewer() -> None:
    token = mint_access_token(
        secret=SECRET, user_id=7, role=Role.MERCHANT, merchant_id=3, ttl=timedelta(minutes=1)
    )

    assert viewer_from_token(token, secret=SECRET) == Viewer(role=Role.MERCHANT, user_id=7, merchant_id=3)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256" and header["typ"] == "at+jwt"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE)
    assert {"iss", "aud", "exp", "iat", "jti", "typ"} <= claims.keys()


def test_an_expired_token_is_refused() -> None:
    token = mint_access_token(secret=SECRET, user_id=7, role=Role.ADMIN, ttl=timedelta(seconds=-1))

    with pytest.raises(Unauthenticated, match="expired"):
        viewer_from_token(token, secret=SECRET)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="invalid"):
        viewer_from_token(_signed(_claims(), secret="someone-elses-secret-0123456789abcdef"), secret=SECRET)


def test_an_unsigned_alg_none_token_is_refused() -> None:
    token = jwt.encode(_claims(), None, algorithm="none", headers={"typ": "at+jwt"})

    with pytest.raises(Unauthenticated):
        viewer_from_token(token, secret=SECRET)


def test_another_algorithm_is_refused_even_with_the_right_secret() -> None:
    with pytest.raises(Unauthenticated):
        viewer_from_token(_signed(_claims(), alg="HS512"), secret=SECRET)


@pytest.mark.parametrize(
    "changes",
    [{"aud": "another-api"}, {"iss": "someone-else"}, {"aud": None}, {"exp": None}, {"iat": None}],
    ids=["wrong-audience", "wrong-issuer", "no-audience", "no-expiry", "no-issued-at"],
)
def test_wrong_or_missing_registered_claims_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated):
        viewer_from_token(_signed(_claims(**changes)), secret=SECRET)


def test_a_token_typed_refresh_never_passes_as_an_access_token() -> None:
    with pytest.raises(Unauthenticated, match="not an access token"):
        viewer_from_token(_signed(_claims(typ="refresh")), secret=SECRET)
    with pytest.raises(Unauthenticated, match="not an access token"):
        viewer_from_token(_signed(_claims(), typ="JWT"), secret=SECRET)


def test_an_opaque_refresh_token_is_not_an_access_token() -> None:
    with pytest.raises(Unauthenticated):
        viewer_from_authorization(f"Bearer {new_opaque_token()}", secret=SECRET)


def test_the_successor_of_a_refresh_token_is_stable_and_secret_bound() -> None:
    token = new_opaque_token()

    first = successor_refresh_token(token, secret=SECRET)

    assert first == successor_refresh_token(token, secret=SECRET)
    assert first != successor_refresh_token(token, secret="another-secret-0123456789abcdefgh")
    assert first != token and token_digest(first) != token_digest(token)
    assert len(token_digest(token)) == 64


def test_production_requires_the_secret(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, app_env=AppEnv.PRODUCTION, jwt_secret=None, data_dir=tmp_path)  # type: ignore[call-arg]

    with pytest.raises(RuntimeError, match="JWT_SECRET"):
        signing_secret(settings)


def test_development_generates_one_secret_per_data_directory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(_env_file=None, app_env=AppEnv.DEVELOPMENT, jwt_secret=None, data_dir=tmp_path)  # type: ignore[call-arg]

    with caplog.at_level(logging.WARNING, logger="core.tokens"):
        first = signing_secret(settings)
    second = signing_secret(settings)
    other = signing_secret(settings.model_copy(update={"data_dir": tmp_path / "other"}))

    assert first == second != other
    assert len(first) >= 32
    assert any("JWT_SECRET is unset" in r.getMessage() for r in caplog.records)
    assert first not in caplog.text


@pytest.mark.parametrize(
    "changes",
    [
        {"sub": "abc"},
        {"sub": "7x"},
        {"sub": ""},
        {"sub": "-7"},
        {"sub": str(2**63)},
        {"sub": 7},
        {"sub": True},
        {"role": "merchant", "mid": "abc"},
        {"role": "merchant", "mid": 2**63},
        {"role": "merchant", "mid": True},
    ],
    ids=[
        "sub-letters",
        "sub-suffix",
        "sub-empty",
        "sub-negative",
        "sub-beyond-bigint",
        "sub-number",
        "sub-bool",
        "mid-letters",
        "mid-beyond-bigint",
        "mid-bool",
    ],
)
def test_a_validly_signed_token_with_malformed_claims_is_unauthenticated(changes: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated, match="invalid"):
        viewer_from_token(_signed(_claims(**changes)), secret=SECRET)
