"""Real local servers the delivery tests talk to: an ASGI app under hypercorn (HTTP/1.1, or HTTP/2
over TLS with a trustme certificate), an SMTP server from aiosmtpd, and a listener that drops every
connection. Each runs in the test's event loop on a port the kernel picked, and stops with the test."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.smtp import SMTP, Envelope, Session
from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.types import ASGIApp

HOST = "127.0.0.1"


@dataclass
class Tls:
    """A throw-away CA (trusted by the providers through DELIVERY_CA_FILE) and a server certificate."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    server_context: Any = None


def make_tls(directory: Path) -> Tls:
    import ssl

    ca = trustme.CA()
    cert = ca.issue_cert(HOST, "localhost")
    tls = Tls(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    ca.cert_pem.write_to_path(str(tls.ca_file))
    cert.cert_chain_pems[0].write_to_path(str(tls.cert_file))
    cert.private_key_pem.write_to_path(str(tls.key_file))
    tls.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(tls.server_context)
    return tls


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    sock.listen(64)
    return sock


@asynccontextmanager
async def asgi_server(app: ASGIApp, *, tls: Tls | None = None) -> AsyncIterator[str]:
    """Serve `app`; yields its base URL (https, offering h2 then http/1.1, when `tls` is given)."""
    sock = _listening_socket()
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns the socket from here
    config.accesslog = None
    config.graceful_timeout = 1
    if tls is not None:
        config.certfile = str(tls.cert_file)
        config.keyfile = str(tls.key_file)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    try:
        await _until_accepting(port)
        yield f"{'https' if tls else 'http'}://{HOST}:{port}"
    finally:
        stop.set()
        await task


async def _until_accepting(port: int) -> None:
    # The socket listens from the start; this waits for hypercorn to be serving on it.
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.01)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError("the local server did not start")


@dataclass
class SmtpRecorder:
    """An aiosmtpd handler keeping every message; addresses at `refused.example` get a 550, and every
    address a 421 (try again later) while `unavailable`."""

    messages: list[tuple[Envelope, bool]] = field(default_factory=list)
    unavailable: bool = False

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.unavailable:
            return "421 4.3.2 service not available, try again later"
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append((envelope, session.ssl is not None))
        return "250 OK queued"


@asynccontextmanager
async def smtp_server(handler: SmtpRecorder, *, tls: Tls | None = None) -> AsyncIterator[int]:
    """aiosmtpd in this loop; with `tls`, STARTTLS is offered and required. Yields the port."""
    loop = asyncio.get_running_loop()
    context = tls.server_context if tls else None

    def protocol() -> SMTP:
        return SMTP(handler, hostname="localhost", tls_context=context, require_starttls=context is not None)

    server = await loop.create_server(protocol, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@dataclass
class Dropper:
    """A TCP listener that closes every connection at once, counting them."""

    connections: int = 0


@asynccontextmanager
async def dropping_server(dropper: Dropper) -> AsyncIterator[int]:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        dropper.connections += 1
        writer.close()

    server = await asyncio.start_server(drop, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def closed_port() -> int:
    """A port nothing listens on (bound and released)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])
