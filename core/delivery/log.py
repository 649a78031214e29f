"""Development delivery: a line in the log per message, the recipient masked."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from core.delivery.message import Channel, Outgoing, Result

log = logging.getLogger(__name__)


def masked_email(email: str) -> str:
    """`a***@example.com`: enough to tell accounts apart in a log, not enough to harvest."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def masked_address(message: Outgoing) -> str:
    """The recipient as a log may show it: no full address, token or URL path (they can hold secrets)."""
    if message.channel is Channel.EMAIL:
        return masked_email(message.address)
    if message.channel is Channel.WEBHOOK:
        parts = urlsplit(message.address)
        return f"{parts.scheme}://{parts.hostname or '?'}/…"
    return f"{message.address[:6]}…"


class LogProvider:
    name = "log"

    async def send(self, message: Outgoing) -> Result:
        platform = f"/{message.platform}" if message.platform else ""
        log.info(
            "delivery %s (%s%s, %s) to %s",
            message.delivery_id,
            message.channel,
            platform,
            message.category,
            masked_address(message),
        )
        return Result.sent(f"log:{message.delivery_id}")

    async def aclose(self) -> None:
        return None
