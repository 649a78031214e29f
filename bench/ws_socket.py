"""One client WebSocket of bench/ws_clients.py's swarm, on websockets' sans-I/O protocol: no task per
socket, and each message's receipt timed as its bytes arrive, before anything else is done with them."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

# Set (non-empty) in a swarm's environment: its sockets offer permessage-deflate.
COMPRESSION_ENV = "BENCH_WS_COMPRESSION"


class Socket(asyncio.Protocol):
    """One client connection on websockets' sans-I/O protocol: no task per socket, and a message's
    receipt is timed as its bytes arrive, before anything else is done with them. The protocol
    answers WebSocket pings itself; `on_text` gets (receipt time, text) of each text message."""

    def __init__(self, url: str, subprotocols: list[str], on_text: Callable[[float, str], None]) -> None:
        # A browser offers permessage-deflate; the bench's clients only when asked (--compression).
        offered = [ClientPerMessageDeflateFactory()] if os.environ.get(COMPRESSION_ENV) else None
        self.ws = ClientProtocol(
            parse_uri(url), subprotocols=[Subprotocol(p) for p in subprotocols] or None, extensions=offered
        )
        self.on_text = on_text
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = asyncio.Event()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        received = time.time()
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if not self.opened.done():
                    error = self.ws.handshake_exc
                    self.opened.set_exception(error) if error else self.opened.set_result(None)
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self.on_text(received, event.data.decode())
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        self.closed.set()

    def send(self, text: str) -> None:
        self.ws.send_text(text.encode())
        self._flush()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.ws.send_close()
            self._flush()
            self.transport.close()

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.ws.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif not self.transport.is_closing():
                self.transport.close()  # the protocol's end of stream
