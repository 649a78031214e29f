"""APNs against a local HTTP/2 server speaking its provider API (hypercorn, TLS from trustme): the
request Apple gets, the ES256 provider token and its renewal, and what each answer maps to."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.delivery.apns import ApnsProvider
from core.delivery.message import Channel, Code, Outgoing, Platform, ProviderFailure, Status
from core.settings import Settings
from tests.delivery.conftest import MakeDelivery, MakeSettings, key_file
from tests.delivery.servers import Tls, asgi_server

TOPIC = "com.swipesavvy.app"
KEY_ID = "ABC123DEFG"
TEAM_ID = "TEAM123456"
TOKEN = "a1" * 32
# What the fake APNs answers for these device tokens (Apple's status and reason).
ANSWERS = {
    "0" * 64: (410, "Unregistered"),
    "b" * 64: (400, "BadDeviceToken"),
    "c" * 64: (413, "PayloadTooLarge"),
    "d" * 64: (429, "TooManyRequests"),
    "e" * 64: (503, "ServiceUnavailable"),
    "f" * 64: (403, "ExpiredProviderToken"),
}


@dataclass
class FakeApns:
    public_key: ec.EllipticCurvePublicKey
    requests: list[dict[str, object]] = field(default_factory=list)

    async def device(self, request: Request) -> Response:
        token = request.path_params["token"]
        bearer = request.headers.get("authorization", "").removeprefix("bearer ")
        try:
            header = jwt.get_unverified_header(bearer)
            claims = jwt.decode(bearer, self.public_key, algorithms=["ES256"])
        except jwt.InvalidTokenError:
            return JSONResponse({"reason": "InvalidProviderToken"}, status_code=403)
        self.requests.append(
            {
                "http_version": request.scope["http_version"],
                "token": token,
                "headers": dict(request.headers),
                "jwt_header": header,
                "claims": claims,
                "payload": await request.json(),
            }
        )
        if token in ANSWERS:
            status, reason = ANSWERS[token]
            return JSONResponse({"reason": reason}, status_code=status)
        return Response(headers={"apns-id": request.headers["apns-id"]})


@pytest.fixture(scope="module")
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
async def apns(signing_key: ec.EllipticCurvePrivateKey, tls: Tls) -> AsyncIterator[tuple[FakeApns, str]]:
    fake = FakeApns(signing_key.public_key())
    app = Starlette(routes=[Route("/3/device/{token}", fake.device, methods=["POST"])])
    async with asgi_server(app, tls=tls) as base:
        yield fake, base


@pytest.fixture
def apns_settings(
    make_settings: MakeSettings,
    signing_key: ec.EllipticCurvePrivateKey,
    tmp_path: Path,
    apns: tuple[FakeApns, str],
) -> Settings:
    pem = signing_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return make_settings(
        push_ios_provider="apns",
        apns_base_url=apns[1],
        apns_key_id=KEY_ID,
        apns_team_id=TEAM_ID,
        apns_topic=TOPIC,
        apns_private_key_file=key_file(tmp_path, "AuthKey.p8", pem),
    )


def push(token: str = TOKEN, delivery_id: str = "d-3001") -> Outgoing:
    return Outgoing(
        delivery_id=delivery_id,
        channel=Channel.PUSH,
        platform=Platform.IOS,
        address=token,
        title="You earned 50 points",
        body="Thanks for shopping at Corner Coffee",
        data={"deepLink": "swipesavvy://rewards"},
        category="rewards",
    )


async def test_a_push_is_an_http2_request_with_a_signed_provider_token(
    apns: tuple[FakeApns, str], apns_settings: Settings, make_delivery: MakeDelivery
) -> None:
    fake, _ = apns
    result = await make_delivery(apns_settings).send(push())
    assert result.status is Status.SENT
    (request,) = fake.requests
    expected_id = str(uuid.uuid5(uuid.UUID("6f1c3a52-8d0e-4c55-9a57-2f4de1b1c0a7"), "d-3001"))
    assert request["http_version"] == "2"
    assert request["token"] == TOKEN
    headers = request["headers"]
    assert isinstance(headers, dict)
    assert headers["apns-id"] == headers["apns-collapse-id"] == expected_id == result.provider_id
    assert (headers["apns-topic"], headers["apns-push-type"]) == (TOPIC, "alert")
    assert request["jwt_header"] == {"alg": "ES256", "kid": KEY_ID, "typ": "JWT"}
    claims = request["claims"]
    assert isinstance(claims, dict) and claims["iss"] == TEAM_ID and isinstance(claims["iat"], int)
    assert request["payload"] == {
        "aps": {
            "alert": {"title": "You earned 50 points", "body": "Thanks for shopping at Corner Coffee"},
            "sound": "default",
            "thread-id": "rewards",
        },
        "deepLink": "swipesavvy://rewards",
        "deliveryId": "d-3001",
    }


async def test_a_uuid_delivery_id_is_the_apns_id_itself(
    apns: tuple[FakeApns, str], apns_settings: Settings, make_delivery: MakeDelivery
) -> None:
    delivery_id = str(uuid.uuid4())
    result = await make_delivery(apns_settings).send(push(delivery_id=delivery_id))
    assert result.provider_id == delivery_id


async def test_dead_tokens_are_rejected_and_other_answers_mapped(
    apns: tuple[FakeApns, str], apns_settings: Settings, make_delivery: MakeDelivery
) -> None:
    delivery = make_delivery(apns_settings)
    outcomes = {reason: await delivery.send(push(token)) for token, (_, reason) in ANSWERS.items()}
    assert outcomes["Unregistered"].recipient_gone and outcomes["BadDeviceToken"].recipient_gone
    assert outcomes["Unregistered"].reason == "Unregistered"
    assert (outcomes["PayloadTooLarge"].status, outcomes["PayloadTooLarge"].error_code) == (
        Status.REJECTED,
        Code.MESSAGE_REFUSED,
    )
    assert outcomes["TooManyRequests"].error_code is Code.RATE_LIMITED
    assert outcomes["ServiceUnavailable"].error_code is Code.PROVIDER_ERROR
    assert outcomes["ExpiredProviderToken"].error_code is Code.PROVIDER_AUTH
    # only the provider's own failures counted: 503 and 403, below the threshold of 3
    assert delivery.breakers.state_of("apns") == "closed"


async def test_a_token_that_is_not_hex_is_rejected_without_a_request(
    apns: tuple[FakeApns, str], apns_settings: Settings, make_delivery: MakeDelivery
) -> None:
    result = await make_delivery(apns_settings).send(push("../../3/device/x"))
    assert result.recipient_gone and apns[0].requests == []


async def test_the_provider_token_is_reused_then_renewed_before_an_hour(
    apns: tuple[FakeApns, str], apns_settings: Settings
) -> None:
    fake, _ = apns
    now = [1_700_000_000.0]
    provider = ApnsProvider(apns_settings, clock=lambda: now[0])
    try:
        await provider.send(push())
        now[0] += 49 * 60
        await provider.send(push())
        now[0] += 2 * 60
        await provider.send(push())
    finally:
        await provider.aclose()
    tokens = [r["headers"]["authorization"] for r in fake.requests]  # type: ignore[index]
    iats = [r["claims"]["iat"] for r in fake.requests]  # type: ignore[index]
    assert tokens[0] == tokens[1] != tokens[2]
    assert iats == [1_700_000_000, 1_700_000_000, 1_700_000_000 + 51 * 60]


async def test_an_expired_provider_token_is_made_anew_for_the_next_send(
    apns: tuple[FakeApns, str], apns_settings: Settings
) -> None:
    fake, _ = apns
    now = [1_700_000_000.0]
    provider = ApnsProvider(apns_settings, clock=lambda: now[0])
    try:
        await provider.send(push())
        now[0] += 5
        with pytest.raises(ProviderFailure, match="PROVIDER_AUTH"):
            await provider.send(push("f" * 64))
        await provider.send(push())
    finally:
        await provider.aclose()
    iats = [r["claims"]["iat"] for r in fake.requests]  # type: ignore[index]
    assert iats == [1_700_000_000, 1_700_000_000, 1_700_000_005]
