"""A TCP relay in front of the tests' real PostgreSQL that a test can take away and bring back: what a
server sees when its database stops (connections cut, new ones refused) or restarts.

It runs in a thread with its own event loop, so a live server in a child process and an app in the
test's own loop can both use it while the test blocks or awaits as it likes.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from core.urls import with_database


def _upstream(server_url: str) -> tuple[str, int] | str:
    """Where PostgreSQL listens: (host, port), or the path of its unix socket."""
    url = make_url(server_url)
    port = url.port or 5432
    socket_dir = url.query.get("host")
    if isinstance(socket_dir, tuple):
        socket_dir = socket_dir[0]
    if socket_dir or not url.host:
        return str(Path(socket_dir or "/var/run/postgresql") / f".s.PGSQL.{port}")
    return url.host, port


class PostgresRelay:
    """`url` reaches PostgreSQL through the relay; `stop()` cuts every connection and refuses new ones
    , `start()` listens again on the same port, `cut()` drops the open connections only."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.upstream = _upstream(server_url)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    def url(self, database: str) -> str:
        """The URL of `database` through the relay (same user and password as the real server)."""
        url = make_url(with_database(self.server_url, database))
        url = url.set(host="127.0.0.1", port=self.port, query={})
        return url.render_as_string(hide_password=False)

    def _call(self, coroutine: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout=10)

    def start(self) -> None:
        if not self._thread.is_alive():
            self._thread.start()
        self._call(self._listen())

    def stop(self) -> None:
        self._call(self._close(listening=False))

    def cut(self) -> None:
        self._call(self._close(listening=True))

    def close(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def _close(self, *, listening: bool) -> None:
        if not listening and self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._pipes):
            writer.transport.abort()
        self._pipes.clear()

    async def _shutdown(self) -> None:
        await self._close(listening=False)
        pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.sleep(0)  # let aborted transports close their sockets

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            if isinstance(self.upstream, str):
                reader, writer = await asyncio.open_unix_connection(self.upstream)
            else:
                reader, writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.transport.abort()
            return
        self._pipes.update({client_writer, writer})
        await asyncio.gather(self._pipe(client_reader, writer), self._pipe(reader, client_writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._pipes.discard(writer)


@contextlib.contextmanager
def relay(server_url: str) -> Iterator[PostgresRelay]:
    """A started relay to the server of `server_url`, closed afterwards."""
    running = PostgresRelay(server_url)
    running.start()
    try:
        yield running
    finally:
        running.close()
