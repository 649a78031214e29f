"""Which provider serves which channel, the log provider's masking, and what an Outgoing refuses."""

from __future__ import annotations

import logging
import uuid

import pytest

from core.delivery.apns import ApnsProvider
from core.delivery.fcm import FcmProvider
from core.delivery.log import LogProvider
from core.delivery.message import Channel, Outgoing, Platform, Status
from core.delivery.registry import Delivery, shared_delivery
from core.delivery.smtp import SmtpProvider
from tests.delivery.conftest import MakeDelivery, MakeSettings


def message(channel: Channel, address: str, platform: Platform | None = None) -> Outgoing:
    return Outgoing(
        delivery_id="d-5001", channel=channel, address=address, title="t", body="b", platform=platform
    )


async def test_every_channel_goes_to_the_log_by_default(
    make_settings: MakeSettings, make_delivery: MakeDelivery, caplog: pytest.LogCaptureFixture
) -> None:
    delivery = make_delivery(make_settings())
    messages = [
        message(Channel.EMAIL, "ann@example.com"),
        message(Channel.PUSH, "a1b2c3d4e5f6a7b8", Platform.IOS),
        message(Channel.WEBHOOK, "https://hooks.example.com/secret-path?key=k"),
    ]
    with caplog.at_level(logging.INFO, logger="core.delivery.log"):
        results = [await delivery.send(m) for m in messages]
    assert {r.status for r in results} == {Status.SENT}
    assert {type(delivery.provider_for(m)) for m in messages} == {LogProvider}
    # the log tells deliveries apart without the address, the device token or the URL's path
    assert "a***@example.com" in caplog.text and "ann@" not in caplog.text
    assert "a1b2c3…" in caplog.text and "a1b2c3d4e5f6" not in caplog.text
    assert "https://hooks.example.com/…" in caplog.text and "secret-path" not in caplog.text


async def test_in_app_needs_no_provider(make_settings: MakeSettings, make_delivery: MakeDelivery) -> None:
    delivery = make_delivery(make_settings())
    in_app = message(Channel.IN_APP, "user:7")
    assert delivery.provider_for(in_app) is None
    assert (await delivery.send(in_app)).status is Status.SENT


def test_each_platform_and_channel_uses_its_configured_provider(
    make_settings: MakeSettings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "key"
    key.write_text("{}")
    settings = make_settings(
        email_provider="smtp",
        push_ios_provider="apns",
        push_android_provider="fcm",
        push_web_provider="fcm",
        apns_key_id="K",
        apns_team_id="T",
        apns_topic="com.example",
        apns_private_key_file=key,
        fcm_project_id="p",
        fcm_service_account_file=key,
    )
    delivery = Delivery(settings)
    assert isinstance(delivery.email, SmtpProvider)
    assert isinstance(delivery.push[Platform.IOS], ApnsProvider)
    assert isinstance(delivery.push[Platform.ANDROID], FcmProvider)
    # one FCM provider (one access token) for both platforms
    assert delivery.push[Platform.ANDROID] is delivery.push[Platform.WEB]
    assert isinstance(delivery.webhook, LogProvider)


def test_the_request_path_shares_one_delivery_per_settings(make_settings: MakeSettings) -> None:
    settings = make_settings()
    assert shared_delivery(settings) is shared_delivery(settings)
    assert shared_delivery(make_settings()) is not shared_delivery(settings)


@pytest.mark.parametrize("delivery_id", ["", "has space", "a/b", "x" * 129, "<id>"])
def test_an_id_unfit_for_headers_is_refused(delivery_id: str) -> None:
    with pytest.raises(ValueError, match="delivery_id"):
        Outgoing(delivery_id=delivery_id, channel=Channel.EMAIL, address="a@example.com", title="t", body="b")


def test_a_push_names_its_platform() -> None:
    with pytest.raises(ValueError, match="platform"):
        Outgoing(delivery_id="d-1", channel=Channel.PUSH, address="tok", title="t", body="b")


def test_the_uuid_of_a_delivery_is_stable() -> None:
    plain = message(Channel.EMAIL, "a@example.com")
    as_uuid = Outgoing(
        delivery_id=str(uuid.UUID(int=7)), channel=Channel.EMAIL, address="a@example.com", title="t", body="b"
    )
    assert plain.delivery_uuid == message(Channel.EMAIL, "b@example.com").delivery_uuid
    assert as_uuid.delivery_uuid == uuid.UUID(int=7)
