"""Each send is counted by provider and outcome (notification_deliveries_total), and each breaker's
circuits by state (breaker_circuits), in the process's samples."""

from __future__ import annotations

from core.delivery.message import Channel, Outgoing
from tests.delivery.conftest import MakeDelivery, MakeSettings
from tests.metrics.support import process_samples, value


async def test_sends_are_counted_by_provider_and_outcome(
    make_settings: MakeSettings, make_delivery: MakeDelivery
) -> None:
    delivery = make_delivery(make_settings())
    before = process_samples()
    email = Outgoing(
        delivery_id="d-9001", channel=Channel.EMAIL, address="a@example.com", title="t", body="b"
    )
    in_app = Outgoing(delivery_id="d-9002", channel=Channel.IN_APP, address="user:1", title="t", body="b")
    await delivery.send(email)
    await delivery.send(email)
    await delivery.send(in_app)
    after = process_samples()
    name = "notification_deliveries_total"
    assert (
        value(after, name, provider="log", outcome="sent")
        == value(before, name, provider="log", outcome="sent") + 2
    )
    assert value(after, name, provider="in_app", outcome="sent") == (
        value(before, name, provider="in_app", outcome="sent") + 1
    )
    # The log provider's circuit was made, closed.
    assert value(after, "breaker_circuits", breaker="delivery_log", state="closed") >= 1
