"""Signed webhooks against a real local receiver that verifies them with the `standardwebhooks`
library; the breaker's whole cycle: failures, open (nothing sent), half-open, closed again."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import orjson
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.delivery.message import Channel, Code, Outgoing, Status
from core.delivery.registry import Delivery
from tests.delivery.conftest import MakeDelivery, MakeSettings
from tests.delivery.servers import Dropper, asgi_server, dropping_server

SECRET = "whsec_" + base64.b64encode(b"test key made for this test only").decode()


@dataclass
class Receiver:
    """A webhook receiver as its owner would write one: verify, then drop repeats by webhook-id."""

    answer: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    requests: int = 0
    verified: list[dict[str, object]] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)
    repeats: int = 0

    async def endpoint(self, request: Request) -> Response:
        self.requests += 1
        body = await request.body()
        try:
            event = Webhook(SECRET).verify(body, dict(request.headers))
        except WebhookVerificationError:
            return Response(status_code=400)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.answer == 200:
            webhook_id = request.headers["webhook-id"]
            if webhook_id in self.seen_ids:
                self.repeats += 1
            else:
                self.seen_ids.add(webhook_id)
                self.verified.append(event)
        return Response(status_code=self.answer, headers=self.headers)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    recorder = Receiver()
    app = Starlette(routes=[Route("/hooks", recorder.endpoint, methods=["POST"])])
    async with asgi_server(app) as base:
        yield recorder, f"{base}/hooks"


def hook(url: str, delivery_id: str = "d-2001") -> Outgoing:
    return Outgoing(
        delivery_id=delivery_id,
        channel=Channel.WEBHOOK,
        address=url,
        title="Campaign started",
        body="Double points is running",
        data={"campaignId": "Q2FtcGFpZ246Nw=="},
        category="campaigns",
    )


@pytest.fixture
def delivery(make_settings: MakeSettings, make_delivery: MakeDelivery) -> Callable[..., Delivery]:
    def make(**overrides: object) -> Delivery:
        return make_delivery(
            make_settings(**({"webhook_provider": "http", "webhook_secret": SECRET} | overrides))
        )

    return make


async def test_a_webhook_verifies_with_standard_webhooks_and_a_repeat_keeps_its_id(
    delivery: Callable[..., Delivery], receiver: tuple[Receiver, str]
) -> None:
    recorder, url = receiver
    sender = delivery()
    first = await sender.send(hook(url))
    repeat = await sender.send(hook(url))
    assert first.status is Status.SENT and repeat.status is Status.SENT
    # the receiver verified both signatures and dropped the repeat by its webhook-id
    assert recorder.requests == 2 and recorder.repeats == 1 and recorder.seen_ids == {"d-2001"}
    (event,) = recorder.verified
    assert event["type"] == "notification.created"
    assert event["data"] == {
        "deliveryId": "d-2001",
        "category": "campaigns",
        "title": "Campaign started",
        "body": "Double points is running",
        "data": {"campaignId": "Q2FtcGFpZ246Nw=="},
    }


async def test_a_wrong_secret_fails_verification(
    delivery: Callable[..., Delivery], receiver: tuple[Receiver, str]
) -> None:
    recorder, url = receiver
    other = "whsec_" + base64.b64encode(b"another key").decode()
    result = await delivery(webhook_secret=other).send(hook(url))
    # the receiver's 400 is not a success: retried later and counted by the breaker
    assert result.status is Status.RETRY and result.reason == "HTTP 400"
    assert recorder.verified == []


async def test_gone_is_rejected_and_too_many_requests_waits_as_told(
    delivery: Callable[..., Delivery], receiver: tuple[Receiver, str]
) -> None:
    recorder, url = receiver
    sender = delivery()
    recorder.answer = 410
    gone = await sender.send(hook(url))
    recorder.answer, recorder.headers = 429, {"retry-after": "7"}
    limited = await sender.send(hook(url))
    assert gone.status is Status.REJECTED and gone.recipient_gone
    assert (limited.status, limited.error_code, limited.retry_after) == (Status.RETRY, Code.RATE_LIMITED, 7.0)


async def test_a_failing_receiver_opens_its_breaker_then_half_opens_and_resumes(
    delivery: Callable[..., Delivery], receiver: tuple[Receiver, str]
) -> None:
    recorder, url = receiver
    sender = delivery()
    circuit = sender.webhook.circuit(hook(url))  # type: ignore[attr-defined]
    # given a receiver answering 503 to as many sends as the threshold (3)
    recorder.answer = 503
    failed = [await sender.send(hook(url, f"d-{n}")) for n in range(2)]
    assert [(s.state, s.failures) for s in sender.breaker_states()] == [("closed", 2)]
    failed.append(await sender.send(hook(url, "d-2")))
    assert {(r.status, r.error_code, r.reason) for r in failed} == {
        (Status.RETRY, Code.PROVIDER_ERROR, "HTTP 503")
    }
    assert sender.breakers.state_of(circuit) == "opened"
    # when more are sent while it is open, then none reaches the receiver and each says how long to wait
    during = [await sender.send(hook(url, f"d-open-{n}")) for n in range(5)]
    assert recorder.requests == 3
    assert {r.error_code for r in during} == {Code.PROVIDER_UNAVAILABLE}
    assert all(r.retry_after is not None and 0 <= r.retry_after <= 0.5 for r in during)
    (state,) = sender.breaker_states()
    assert (state.circuit, state.state) == (circuit, "opened") and state.reopens_in is not None
    # when the receiver recovers and the open pause (0.5 s) has passed, then the next send goes
    # through (half-open) and closes the breaker; the deliveries that waited are all delivered
    recorder.answer = 200
    await asyncio.sleep(0.6)
    resumed = [await sender.send(hook(url, f"d-open-{n}")) for n in range(5)]
    assert {r.status for r in resumed} == {Status.SENT}
    assert sender.breakers.state_of(circuit) == "closed"
    assert recorder.seen_ids == {f"d-open-{n}" for n in range(5)}


async def test_one_dead_receiver_does_not_hold_back_another(
    delivery: Callable[..., Delivery], receiver: tuple[Receiver, str]
) -> None:
    recorder, url = receiver
    healthy = Receiver()
    app = Starlette(routes=[Route("/hooks", healthy.endpoint, methods=["POST"])])
    sender = delivery()
    recorder.answer = 500
    async with asgi_server(app) as other:
        for n in range(4):
            await sender.send(hook(url, f"d-{n}"))
        result = await sender.send(hook(f"{other}/hooks"))
    assert result.status is Status.SENT
    states = {s.circuit: s.state for s in sender.breaker_states()}
    assert states == {
        sender.webhook.circuit(hook(url)): "opened",  # type: ignore[attr-defined]
        sender.webhook.circuit(hook(f"{other}/hooks")): "closed",  # type: ignore[attr-defined]
    }


async def test_dropped_connections_are_tried_again_within_the_send(delivery: Callable[..., Delivery]) -> None:
    dropper = Dropper()
    async with dropping_server(dropper) as port:
        result = await delivery().send(hook(f"http://127.0.0.1:{port}/hooks"))
    # three attempts (DELIVERY_NETWORK_ATTEMPTS), one failure for the breaker
    assert dropper.connections == 3
    assert (result.status, result.error_code) == (Status.RETRY, Code.NETWORK_ERROR)


async def test_a_slow_receiver_times_out_as_a_retry(
    delivery: Callable[..., Delivery], receiver: tuple[Receiver, str]
) -> None:
    recorder, url = receiver
    recorder.delay_s = 1.0
    result = await delivery(webhook_timeout_s=0.2).send(hook(url))
    assert (result.status, result.error_code) == (Status.RETRY, Code.TIMEOUT)
    assert recorder.requests == 1  # a timeout is not retried at once: it already took its time


async def test_plain_http_receivers_are_refused_when_https_is_required(
    delivery: Callable[..., Delivery], receiver: tuple[Receiver, str]
) -> None:
    recorder, url = receiver
    result = await delivery(webhook_require_https=True).send(hook(url))
    assert result.status is Status.REJECTED and result.error_code is Code.INVALID_RECIPIENT
    assert recorder.requests == 0


def test_the_body_is_what_was_signed() -> None:
    from core.delivery.webhook import payload, signature, signing_key

    body = payload(hook("https://example.com/h"))
    signed = signature(signing_key(SECRET), webhook_id="d-2001", timestamp=1_700_000_000, body=body)
    headers = {"webhook-id": "d-2001", "webhook-timestamp": "1700000000", "webhook-signature": signed}
    # the library's own signer agrees (verify would refuse a 2023 timestamp as too old)
    from datetime import UTC, datetime

    expected = Webhook(SECRET).sign("d-2001", datetime.fromtimestamp(1_700_000_000, UTC), body.decode())
    assert headers["webhook-signature"] == expected
    assert orjson.loads(body)["data"]["deliveryId"] == "d-2001"


@pytest.mark.parametrize(
    "url",
    ["http://[::1", "https://example.com:99999/h", "notaurl", "ftp://example.com/h", "https://exa mple.com/"],
)
async def test_a_url_that_is_not_a_receiver_is_rejected(delivery: Callable[..., Delivery], url: str) -> None:
    result = await delivery().send(hook(url))
    assert (result.status, result.error_code) == (Status.REJECTED, Code.INVALID_RECIPIENT)


async def test_a_failed_trial_after_the_pause_reopens_the_breaker_at_once(
    delivery: Callable[..., Delivery], receiver: tuple[Receiver, str]
) -> None:
    recorder, url = receiver
    sender = delivery()
    recorder.answer = 503
    for n in range(3):
        await sender.send(hook(url, f"d-{n}"))
    await asyncio.sleep(0.6)
    # when the one trial after the pause fails too
    trial = await sender.send(hook(url, "d-trial"))
    after = await sender.send(hook(url, "d-after"))
    # then the breaker is open again after a single failure, not after another three
    assert trial.error_code is Code.PROVIDER_ERROR and after.error_code is Code.PROVIDER_UNAVAILABLE
    assert recorder.requests == 4
