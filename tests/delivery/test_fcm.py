"""FCM HTTP v1 against a local server with its OAuth2 token endpoint and `messages:send`: the JWT
bearer grant made from a service-account key, the message FCM gets, and its errors' mapping."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.delivery.fcm import FcmProvider
from core.delivery.message import Channel, Code, Outgoing, Platform, ProviderFailure, Status
from core.settings import Settings
from tests.delivery.conftest import MakeDelivery, MakeSettings, key_file
from tests.delivery.servers import asgi_server

PROJECT = "swipesavvy-test"
ACCOUNT = "push@swipesavvy-test.iam.gserviceaccount.com"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


def fcm_error(status: int, name: str, code: str | None = None, field_name: str | None = None) -> JSONResponse:
    details: list[dict[str, object]] = []
    if code:
        details.append({"@type": FCM_ERROR, "errorCode": code})
    if field_name:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field_name, "description": "invalid"}],
            }
        )
    body = {"error": {"code": status, "message": "refused", "status": name, "details": details}}
    return JSONResponse(body, status_code=status)


# What the fake FCM answers for these registration tokens.
ANSWERS = {
    "gone-token": lambda: fcm_error(404, "NOT_FOUND", "UNREGISTERED"),
    "bad-token": lambda: fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "message.token"),
    "bad-payload": lambda: fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "message.data"),
    "busy-token": lambda: fcm_error(503, "UNAVAILABLE", "UNAVAILABLE"),
    "quota-token": lambda: fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
}


@dataclass
class FakeFcm:
    public_key: rsa.RSAPublicKey
    token_url: str = ""
    grants: list[dict[str, object]] = field(default_factory=list)
    sends: list[dict[str, object]] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)

    async def token(self, request: Request) -> Response:
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        try:
            # two hours of leeway: a test moves the provider's clock up to an hour ahead
            claims = jwt.decode(
                str(form["assertion"]),
                self.public_key,
                algorithms=["RS256"],
                audience=self.token_url,
                leeway=7200,
            )
        except jwt.InvalidTokenError:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        self.grants.append(claims)
        return JSONResponse(
            {"access_token": f"access-{len(self.grants)}", "expires_in": 3599, "token_type": "Bearer"}
        )

    async def send(self, request: Request) -> Response:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not bearer.startswith("access-") or bearer in self.revoked:
            return fcm_error(401, "UNAUTHENTICATED")
        body = await request.json()
        self.sends.append({"project": request.path_params["project"], "bearer": bearer, "body": body})
        token = body["message"]["token"]
        if token in ANSWERS:
            return ANSWERS[token]()
        return JSONResponse({"name": f"projects/{PROJECT}/messages/{len(self.sends)}"})


@pytest.fixture(scope="module")
def account_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def fcm(account_key: rsa.RSAPrivateKey) -> AsyncIterator[tuple[FakeFcm, str]]:
    fake = FakeFcm(account_key.public_key())
    app = Starlette(
        routes=[
            Route("/token", fake.token, methods=["POST"]),
            Route("/v1/projects/{project}/messages:send", fake.send, methods=["POST"]),
        ]
    )
    async with asgi_server(app) as base:
        fake.token_url = f"{base}/token"
        yield fake, base


@pytest.fixture
def fcm_settings(
    make_settings: MakeSettings, account_key: rsa.RSAPrivateKey, tmp_path: Path, fcm: tuple[FakeFcm, str]
) -> Settings:
    pem = account_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    # a service account's JSON key as Google issues it, pointing at the local token endpoint
    account = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "key-1",
        "private_key": pem,
        "client_email": ACCOUNT,
        "token_uri": fcm[0].token_url,
    }
    return make_settings(
        push_android_provider="fcm",
        push_web_provider="fcm",
        fcm_base_url=fcm[1],
        fcm_project_id=PROJECT,
        fcm_service_account_file=key_file(tmp_path, "service-account.json", json.dumps(account).encode()),
    )


def push(
    token: str = "android-token-1", delivery_id: str = "d-4001", platform: Platform = Platform.ANDROID
) -> Outgoing:
    return Outgoing(
        delivery_id=delivery_id,
        channel=Channel.PUSH,
        platform=platform,
        address=token,
        title="A new offer near you",
        body="20% off at Corner Coffee",
        data={"deepLink": "swipesavvy://offers/9", "merchantId": 9},
        category="offers",
    )


async def test_one_access_token_from_the_jwt_bearer_grant_serves_every_send(
    fcm: tuple[FakeFcm, str], fcm_settings: Settings, make_delivery: MakeDelivery
) -> None:
    fake, _ = fcm
    delivery = make_delivery(fcm_settings)
    first = await delivery.send(push())
    second = await delivery.send(push(delivery_id="d-4002", platform=Platform.WEB))
    assert first.status is Status.SENT and first.provider_id == f"projects/{PROJECT}/messages/1"
    assert second.status is Status.SENT
    (grant,) = fake.grants
    assert grant["iss"] == ACCOUNT and grant["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
    assert [s["bearer"] for s in fake.sends] == ["access-1", "access-1"]
    assert fake.sends[0]["project"] == PROJECT
    assert fake.sends[0]["body"] == {
        "message": {
            "token": "android-token-1",
            "notification": {"title": "A new offer near you", "body": "20% off at Corner Coffee"},
            # every data value a string, as FCM requires; the delivery id for the app to drop repeats
            "data": {
                "deepLink": "swipesavvy://offers/9",
                "merchantId": "9",
                "deliveryId": "d-4001",
                "category": "offers",
            },
            "android": {"notification": {"tag": "d-4001"}},
        }
    }
    assert fake.sends[1]["body"]["message"]["webpush"] == {"notification": {"tag": "d-4002"}}  # type: ignore[index]


async def test_dead_tokens_are_rejected_and_outages_retried(
    fcm: tuple[FakeFcm, str], fcm_settings: Settings, make_delivery: MakeDelivery
) -> None:
    delivery = make_delivery(fcm_settings)
    outcomes = {token: await delivery.send(push(token)) for token in ANSWERS}
    assert outcomes["gone-token"].recipient_gone and outcomes["gone-token"].reason == "UNREGISTERED"
    assert outcomes["bad-token"].recipient_gone
    # INVALID_ARGUMENT about the payload is this message's fault, not the device's
    assert (outcomes["bad-payload"].status, outcomes["bad-payload"].error_code) == (
        Status.REJECTED,
        Code.MESSAGE_REFUSED,
    )
    assert (outcomes["busy-token"].status, outcomes["busy-token"].error_code) == (
        Status.RETRY,
        Code.PROVIDER_ERROR,
    )
    assert outcomes["quota-token"].error_code is Code.RATE_LIMITED


async def test_a_refused_access_token_is_fetched_again(
    fcm: tuple[FakeFcm, str], fcm_settings: Settings
) -> None:
    fake, _ = fcm
    provider = FcmProvider(fcm_settings)
    try:
        await provider.send(push())
        fake.revoked.add("access-1")
        with pytest.raises(ProviderFailure, match="PROVIDER_AUTH"):
            await provider.send(push())
        result = await provider.send(push())
    finally:
        await provider.aclose()
    assert result.status is Status.SENT
    assert len(fake.grants) == 2 and fake.sends[-1]["bearer"] == "access-2"


async def test_the_token_is_renewed_before_it_expires(
    fcm: tuple[FakeFcm, str], fcm_settings: Settings
) -> None:
    fake, _ = fcm
    now = [time.time()]
    provider = FcmProvider(fcm_settings, clock=lambda: now[0])
    try:
        await provider.send(push())
        now[0] += 3599 - 301  # still more than the five-minute margin left
        await provider.send(push())
        now[0] += 2
        await provider.send(push())
    finally:
        await provider.aclose()
    assert [s["bearer"] for s in fake.sends] == ["access-1", "access-1", "access-2"]
