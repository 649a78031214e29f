"""Fixtures of the delivery tests: settings for the providers, and the local servers' TLS material."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from core.delivery.registry import Delivery
from core.settings import Settings
from tests.delivery.servers import Tls, make_tls

MakeSettings = Callable[..., Settings]


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("delivery-tls"))


@pytest.fixture
def make_settings(tls: Tls) -> MakeSettings:
    """Settings as the environment would give them, with small breaker and retry figures."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "delivery_ca_file": tls.ca_file,
            "delivery_breaker_threshold": 3,
            "delivery_breaker_open_s": 0.5,
            "delivery_network_attempts": 3,
            "delivery_network_retry_wait_s": 0.01,
        }
        return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]

    return make


def key_file(directory: Path, name: str, pem: bytes) -> Path:
    path = directory / name
    path.write_bytes(pem)
    return path


MakeDelivery = Callable[[Settings], Delivery]


@pytest.fixture
async def make_delivery() -> AsyncIterator[MakeDelivery]:
    """Deliveries closed (their HTTP connections too) when the test ends."""
    made: list[Delivery] = []

    def make(settings: Settings) -> Delivery:
        made.append(Delivery(settings))
        return made[-1]

    yield make
    for delivery in made:
        await delivery.aclose()
