"""Which provider delivers what, built from Settings: `Delivery.send` is what the jobs call.

Every send goes through the breaker of its provider (of its host, for webhooks) and, inside it, the
short network retries; it answers a `Result` whatever the provider does.
"""

from __future__ import annotations

import weakref

from core.delivery.apns import ApnsProvider
from core.delivery.breakers import Breakers, BreakerState
from core.delivery.fcm import FcmProvider
from core.delivery.log import LogProvider
from core.delivery.message import Channel, Outgoing, Platform, Provider, Result
from core.delivery.retries import NetworkRetries
from core.delivery.smtp import SmtpProvider
from core.delivery.webhook import WebhookProvider
from core.metrics import DELIVERIES
from core.settings import Settings

# An in-app notification is delivered by its row being written (the notification centre and the
# `notificationReceived` subscription read it): there is nothing more to send.
IN_APP_SENT = Result.sent("in_app")


class Delivery:
    """The providers of every channel and platform, each made once, sharing one set of breakers."""

    def __init__(self, settings: Settings) -> None:
        self.breakers = Breakers(
            threshold=settings.delivery_breaker_threshold, open_s=settings.delivery_breaker_open_s
        )
        self.retries = NetworkRetries(
            attempts=settings.delivery_network_attempts, wait_s=settings.delivery_network_retry_wait_s
        )
        self._made: dict[str, Provider] = {"log": LogProvider()}
        self.email = self._provider(settings.email_provider, settings)
        self.webhook = self._provider(settings.webhook_provider, settings)
        self.push = {
            Platform.IOS: self._provider(settings.push_ios_provider, settings),
            Platform.ANDROID: self._provider(settings.push_android_provider, settings),
            Platform.WEB: self._provider(settings.push_web_provider, settings),
        }

    def _provider(self, name: str, settings: Settings) -> Provider:
        if name not in self._made:
            makers = {
                "smtp": SmtpProvider,
                "http": WebhookProvider,
                "apns": ApnsProvider,
                "fcm": FcmProvider,
            }
            self._made[name] = makers[name](settings)
        return self._made[name]

    def provider_for(self, message: Outgoing) -> Provider | None:
        """The provider of the message's channel (and platform); None for in-app."""
        if message.channel is Channel.EMAIL:
            return self.email
        if message.channel is Channel.WEBHOOK:
            return self.webhook
        if message.channel is Channel.PUSH:
            assert message.platform is not None  # Outgoing refuses a push without one
            return self.push[message.platform]
        return None

    async def send(self, message: Outgoing) -> Result:
        provider = self.provider_for(message)
        if provider is None:
            DELIVERIES.labels("in_app", IN_APP_SENT.status.value).inc()
            return IN_APP_SENT
        circuit = provider.circuit(message) if isinstance(provider, WebhookProvider) else provider.name
        result = await self.breakers.call(circuit, lambda: self.retries(lambda: provider.send(message)))
        DELIVERIES.labels(provider.name, result.status.value).inc()
        return result

    def breaker_states(self) -> list[BreakerState]:
        return self.breakers.states()

    async def aclose(self) -> None:
        for provider in self._made.values():
            await provider.aclose()


_shared: dict[int, Delivery] = {}


def shared_delivery(settings: Settings) -> Delivery:
    """One `Delivery` per settings object, for a notifier used outside a worker (which has its own):
    its breakers hold across calls."""
    key = id(settings)
    if key not in _shared:
        _shared[key] = Delivery(settings)
        weakref.finalize(settings, _shared.pop, key, None)
    return _shared[key]
