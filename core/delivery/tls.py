"""The TLS context every provider's connection uses: the system's CAs, or DELIVERY_CA_FILE's."""

from __future__ import annotations

import ssl

from core.settings import Settings


def client_context(settings: Settings) -> ssl.SSLContext:
    if settings.delivery_ca_file is not None:
        return ssl.create_default_context(cafile=str(settings.delivery_ca_file))
    return ssl.create_default_context()
