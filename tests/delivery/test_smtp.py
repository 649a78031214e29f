"""E-mail through a real SMTP server (aiosmtpd): headers, a stable Message-ID, STARTTLS, refusals."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from core.delivery.message import Channel, Code, Outgoing, Status
from core.delivery.registry import Delivery
from core.notifier import RESET_LINK, notifier_for
from tests.delivery.conftest import MakeSettings
from tests.delivery.servers import SmtpRecorder, Tls, closed_port, smtp_server

UNSUBSCRIBE = "https://swipesavvy.example/unsubscribe/abc123"


def offer(delivery_id: str = "d-1001", to: str = "ann@example.com") -> Outgoing:
    return Outgoing(
        delivery_id=delivery_id,
        channel=Channel.EMAIL,
        address=to,
        title="Double points this weekend",
        body="Shop at any partner merchant until Sunday.",
        data={"link": "swipesavvy://campaigns/7"},
        category="marketing",
        unsubscribe_url=UNSUBSCRIBE,
    )


def parsed(recorder: SmtpRecorder, index: int) -> EmailMessage:
    envelope, _ = recorder.messages[index]
    message = message_from_bytes(envelope.original_content or b"", policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


async def test_an_offer_carries_one_click_unsubscribe_and_the_same_message_id_when_resent(
    make_settings: MakeSettings,
) -> None:
    recorder = SmtpRecorder()
    async with smtp_server(recorder) as port:
        settings = make_settings(
            email_provider="smtp", smtp_port=port, smtp_host="127.0.0.1", smtp_security="none"
        )
        delivery = Delivery(settings)
        # when the same delivery is sent twice (a retry after an uncertain first attempt)
        first = await delivery.send(offer())
        second = await delivery.send(offer())
    # then both reached the server, with one Message-ID derived from the delivery id
    assert first.status is Status.SENT and second.status is Status.SENT
    one, two = parsed(recorder, 0), parsed(recorder, 1)
    assert one["Message-ID"] == two["Message-ID"] == "<d-1001@swipesavvy.example>" == first.provider_id
    assert one["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert one["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert one["To"] == "ann@example.com" and one["Subject"] == "Double points this weekend"
    assert one["Auto-Submitted"] == "auto-generated"
    assert recorder.messages[0][0].rcpt_tos == ["ann@example.com"]
    assert UNSUBSCRIBE in one.get_content()


async def test_starttls_is_used_and_the_server_certificate_checked(
    make_settings: MakeSettings, tls: Tls
) -> None:
    recorder = SmtpRecorder()
    async with smtp_server(recorder, tls=tls) as port:
        settings = make_settings(
            email_provider="smtp", smtp_port=port, smtp_host="127.0.0.1", smtp_security="starttls"
        )
        trusted = await Delivery(settings).send(offer())
        # a client that does not trust the test CA refuses the server
        untrusted = await Delivery(settings.model_copy(update={"delivery_ca_file": None})).send(offer())
    assert trusted.status is Status.SENT
    assert recorder.messages[0][1] is True  # the message came over TLS
    assert len(recorder.messages) == 1
    assert untrusted.status is Status.RETRY and untrusted.error_code is not None


async def test_a_mailbox_that_does_not_exist_is_rejected_for_good(make_settings: MakeSettings) -> None:
    recorder = SmtpRecorder()
    async with smtp_server(recorder) as port:
        settings = make_settings(
            email_provider="smtp", smtp_port=port, smtp_host="127.0.0.1", smtp_security="none"
        )
        result = await Delivery(settings).send(offer(to="nobody@refused.example"))
    assert result.status is Status.REJECTED and result.error_code is Code.INVALID_RECIPIENT
    assert result.recipient_gone and result.reason == "SMTP 550"
    assert recorder.messages == []


async def test_an_unreachable_server_opens_the_breaker(make_settings: MakeSettings) -> None:
    settings = make_settings(
        email_provider="smtp", smtp_port=closed_port(), smtp_host="127.0.0.1", smtp_security="none"
    )
    delivery = Delivery(settings)
    # when sends fail as often as the threshold (3), then once more
    failures = [await delivery.send(offer(f"d-{n}")) for n in range(3)]
    refused = await delivery.send(offer("d-9"))
    assert {(r.status, r.error_code) for r in failures} == {(Status.RETRY, Code.NETWORK_ERROR)}
    assert refused.error_code is Code.PROVIDER_UNAVAILABLE and refused.retry_after is not None
    assert 0 < refused.retry_after <= 0.5
    assert delivery.breakers.state_of("smtp") == "opened"


async def test_password_reset_links_go_out_as_e_mail_without_an_unsubscribe_header(
    make_settings: MakeSettings,
) -> None:
    recorder = SmtpRecorder()
    link = RESET_LINK.format(token="tok-for-ann")
    async with smtp_server(recorder) as port:
        settings = make_settings(
            notifier="email",
            email_provider="smtp",
            smtp_port=port,
            smtp_host="127.0.0.1",
            smtp_security="none",
        )
        # when the caller (resolvers/auth) sends the same link twice
        await notifier_for(settings).send_password_reset(email="ann@example.com", link=link)
        await notifier_for(settings).send_password_reset(email="ann@example.com", link=link)
    one, two = parsed(recorder, 0), parsed(recorder, 1)
    assert link in one.get_content()
    assert one["Message-ID"] == two["Message-ID"]
    assert "tok-for-ann" not in one["Message-ID"]
    assert one["List-Unsubscribe"] is None


async def test_malformed_addresses_and_headers_are_refused_without_a_connection(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings(
        email_provider="smtp", smtp_port=closed_port(), smtp_host="127.0.0.1", smtp_security="none"
    )
    delivery = Delivery(settings)
    bad_address = await delivery.send(offer(to="ann@example.com\r\nBcc: all@example.com"))
    no_domain = await delivery.send(offer(to="ann"))
    split_subject = Outgoing(
        delivery_id="d-1",
        channel=Channel.EMAIL,
        address="ann@example.com",
        title="Hi\r\nBcc: x@y.z",
        body="b",
    )
    bad_title = await delivery.send(split_subject)
    assert (bad_address.status, bad_address.error_code) == (Status.REJECTED, Code.INVALID_RECIPIENT)
    assert no_domain.error_code is Code.INVALID_RECIPIENT
    assert (bad_title.status, bad_title.error_code) == (Status.REJECTED, Code.MESSAGE_REFUSED)
    # nothing was attempted: the closed port would have counted network failures
    assert delivery.breakers.state_of("smtp") == "closed"
    assert [s.failures for s in delivery.breaker_states()] == [0]
