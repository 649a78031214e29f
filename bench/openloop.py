"""Load generators on raw HTTP/1.1 keep-alive connections (asyncio protocols, one prebuilt request).

- `closed_loop`: `clients` connections, each sending its next request when the last one answered:
  the throughput of the server, and its CPU per request at saturation.
- `open_loop`: requests sent on a fixed schedule, `rate` per second, whether or not earlier ones have
  answered (a request finding every open connection busy opens another, up to `max_connections`);
  each latency is measured from the request's *scheduled* send time, so a stalled server is charged
  for every request it delayed (no coordinated omission). A closed loop at a fixed concurrency would
  only restate clients / throughput.

Why this is accurate enough: the scheduler sends every request that is due each time it wakes, and
it records how late each send was against its schedule (`send_lag`); the report prints that lag, so a
generator that fell behind shows it. The per-request work here is one `write` of prebuilt bytes and a
header scan of the answer, tens of microseconds: far below the server's milliseconds, on its own core.
Requests still unanswered `drain_s` after the schedule ends count as late, with infinite latency.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import orjson

ERROR_MARK = b'"errors":[{"message"'


@dataclass
class Run:
    """What one run measured; latencies in milliseconds."""

    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    # What the errors were: an HTTP status ("200" for a GraphQL error in a 200), or "connection".
    failures: Counter[str] = field(default_factory=Counter)
    # Requests still unanswered `drain_s` after the schedule ended (their latency counts as infinite).
    late: int = 0
    send_lag_ms: list[float] = field(default_factory=list)
    connections: int = 0

    @property
    def answered(self) -> int:
        return sum(1 for latency in self.latencies_ms if latency != math.inf)

    @property
    def rps(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    def percentile(self, p: float, values: list[float] | None = None) -> float:
        ordered = sorted(self.latencies_ms if values is None else values)
        if not ordered:
            return math.nan
        return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def request_bytes(url: str, body: dict[str, object], headers: dict[str, str]) -> bytes:
    """One POST of `body` as JSON to `url`, with `headers`, ready to write again and again."""
    parts = urlsplit(url)
    payload = orjson.dumps(body)
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


class _Connection(asyncio.Protocol):
    """One keep-alive connection answering one request at a time (Content-Length bodies only)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.alive = False
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        length = _content_length(head)
        if len(self.buffer) < end + 4 + length:
            return
        status = int(head[9:12])
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((status, body))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _content_length(head: bytes) -> int:
    at = head.find(b"\r\ncontent-length:")
    if at < 0:
        return 0
    line_end = head.find(b"\r\n", at + 2)
    return int(head[at + 17 : line_end if line_end >= 0 else len(head)])


def _count(run: Run, status: int, body: bytes) -> None:
    if status != 200 or ERROR_MARK in body:
        run.errors += 1
        run.failures[str(status)] += 1


async def _open(host: str, port: int) -> _Connection:
    _, protocol = await asyncio.get_running_loop().create_connection(_Connection, host, port)
    return protocol


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


async def closed_loop(url: str, request: bytes, *, clients: int, seconds: float) -> Run:
    """`clients` connections sending back to back for `seconds`; latency from each send."""
    host, port = _address(url)
    connections = [await _open(host, port) for _ in range(clients)]
    run = Run(seconds=seconds, connections=clients)
    stop = time.perf_counter() + seconds

    async def client(conn: _Connection) -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                status, body = await conn.send(request)
            except ConnectionError:
                run.errors += 1
                run.failures["connection"] += 1
                conn = await _open(host, port)
                continue
            run.latencies_ms.append((time.perf_counter() - started) * 1000)
            _count(run, status, body)

    began = time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    run.seconds = time.perf_counter() - began
    for conn in connections:
        conn.close()
    return run


async def open_loop(
    url: str,
    request: bytes,
    *,
    rate: float,
    seconds: float,
    warm_connections: int = 32,
    max_connections: int = 512,
    drain_s: float = 10.0,
) -> Run:
    """`rate` requests per second on schedule for `seconds`; latency from each scheduled time."""
    host, port = _address(url)
    loop = asyncio.get_running_loop()
    every = [await _open(host, port) for _ in range(warm_connections)]
    idle: deque[_Connection] = deque(every)
    opened = len(idle)
    waiting: deque[asyncio.Future[_Connection]] = deque()
    run = Run(seconds=seconds)
    pending: set[asyncio.Task[None]] = set()

    async def connection() -> _Connection:
        nonlocal opened
        while idle:
            conn = idle.pop()
            if conn.alive:
                return conn
        if opened < max_connections:
            opened += 1
            every.append(await _open(host, port))
            return every[-1]
        ticket: asyncio.Future[_Connection] = loop.create_future()
        waiting.append(ticket)
        return await ticket

    def release(conn: _Connection) -> None:
        while waiting:
            ticket = waiting.popleft()
            if not ticket.done():
                ticket.set_result(conn)
                return
        idle.append(conn)

    async def one(scheduled: float) -> None:
        nonlocal opened
        for _attempt in range(3):
            conn = await connection()
            run.send_lag_ms.append((time.perf_counter() - scheduled) * 1000)
            try:
                status, body = await conn.send(request)
            except ConnectionError:  # the server closed an idle keep-alive connection: another one
                opened -= 1
                continue
            run.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
            _count(run, status, body)
            release(conn)
            return
        run.errors += 1
        run.failures["connection"] += 1

    interval = 1.0 / rate
    total = int(rate * seconds)
    start = time.perf_counter() + 0.05
    sent = 0
    while sent < total:
        now = time.perf_counter()
        while sent < total and start + sent * interval <= now:
            task = asyncio.create_task(one(start + sent * interval))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
        if sent < total:
            await asyncio.sleep(max(0.0, start + sent * interval - time.perf_counter()))
    if pending:
        _, late = await asyncio.wait(set(pending), timeout=drain_s)
        for task in late:
            task.cancel()
        run.late += len(late)
        run.latencies_ms += [math.inf] * len(late)
    run.seconds = total / rate  # the schedule's length: answered / seconds is the rate achieved
    run.connections = len(every)
    for conn in every:
        conn.close()
    return run
