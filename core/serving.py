"""Running uvicorn for `serve`, with a graceful drain on SIGTERM (issue 14, part 5).

uvicorn alone closes its listener the moment SIGTERM arrives, so a load balancer still sending there
gets refused connections, and it closes WebSockets with 1012. Here each server process first stops
being ready (/readyz 503, core/drain.py) for DRAIN_READY_DELAY_S while it serves as before, then closes
its listener, closes WebSockets with 1001, and gives in-flight requests DRAIN_GRACE_S. A later signal
hurries it: the delay is skipped and what still runs is cancelled. With --workers N the supervisor
passes SIGTERM on to every worker and closes its own copy of the listening socket, so once the
workers have closed theirs new connections are refused instead of queued for nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from types import FrameType

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.server import Server
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from core.drain import Drain
from core.settings import Settings

log = logging.getLogger("swipesavvy.serve")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# How long the WebSockets get to say goodbye before uvicorn's own shutdown closes the rest (1012).
WEBSOCKET_CLOSE_WAIT_S = 2.0
POLL_S = 0.05
WORKER_HEALTHCHECK_S = 30


class StopSignals:
    """SIGTERM and SIGINT as `serve` counts them. Each is passed on to the listeners with its number
    (the job worker beside the server hears the first to drain, a later one to hurry)."""

    def __init__(self) -> None:
        self.count = 0
        self.listeners: list[Callable[[int], None]] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        for listener in self.listeners:
            listener(self.count)

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopSignals]:
        """Handle both signals while the block runs: also after the server stopped, while the job
        worker and the embedded servers are being stopped (the default handler would kill us there)."""
        previous = {sig: signal.signal(sig, self) for sig in STOP_SIGNALS}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class DrainingServer(Server):
    """uvicorn's server, one per worker process, with the drain in front of its shutdown."""

    def __init__(
        self, config: Config, *, ready_delay_s: float, grace_s: float, signals: StopSignals | None = None
    ) -> None:
        super().__init__(config)
        self.ready_delay_s, self.grace_s = ready_delay_s, grace_s
        self.signals = signals or StopSignals()
        self.exit_at: float | None = None
        self.hurry = False
        self._announced = False

    def _drain(self) -> Drain | None:
        # The app's, from its lifespan state (server.py); None before the lifespan has started.
        lifespan = getattr(self, "lifespan", None)
        return None if lifespan is None else lifespan.state.get("drain")

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler: plain assignments only (no logging, no asyncio); on_tick acts on them.
        self.signals(sig, frame)
        drain = self._drain()
        if self.signals.count == 1 and self.started and drain is not None and self.ready_delay_s > 0:
            drain.begin(f"{signal.Signals(sig).name} received")
            self.exit_at = time.monotonic() + self.ready_delay_s
            return
        if self.signals.count > 1:
            self.hurry = True
        self.should_exit = True

    async def on_tick(self, counter: int) -> bool:
        if self.exit_at is not None:
            if not self._announced:
                self._announced = True
                log.info("draining: /readyz is 503 for %s s, then the listener closes", self.ready_delay_s)
            if time.monotonic() >= self.exit_at:
                self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        started = time.monotonic()
        grace_ends = started + (0.0 if self.hurry else self.grace_s)
        log.info("shutting down: in-flight requests get %s s", 0.0 if self.hurry else self.grace_s)
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        drain = self._drain()
        if drain is not None:
            drain.close()
            # The app closes its WebSockets with 1001 first; uvicorn's shutdown of one would send 1012.
            await self._wait(lambda: drain.websockets == 0, min(grace_ends, started + WEBSOCKET_CLOSE_WAIT_S))
        # Idle keep-alive connections close now, busy ones after their response.
        for connection in list(self.server_state.connections):
            connection.shutdown()
        state = self.server_state
        await self._wait(lambda: not state.connections and not state.tasks, grace_ends)
        if state.tasks:
            if drain is not None:
                drain.cut = True
            log.error("drain: %s request(s) running past the grace period cancelled", len(state.tasks))
            for task in list(state.tasks):
                task.cancel(msg="the drain's grace period is over")
            await asyncio.wait(list(state.tasks), timeout=1.0)
        await self.lifespan.shutdown()

    async def _wait(self, done: Callable[[], bool], until: float) -> None:
        while not done() and not self.hurry and time.monotonic() < until:
            await asyncio.sleep(POLL_S)


class DrainingProcess(Process):
    """A worker process of the supervisor, running a DrainingServer (pickled to the spawned child)."""

    def __init__(self, config: Config, sockets: list[socket.socket], *, ready_delay_s: float, grace_s: float):
        self.ready_delay_s, self.grace_s = ready_delay_s, grace_s
        super().__init__(config, sockets)

    @property
    def server(self) -> Server:
        if self._server is None:
            self._server = DrainingServer(self.config, ready_delay_s=self.ready_delay_s, grace_s=self.grace_s)
        return self._server


class Supervisor(Multiprocess):
    """uvicorn's supervisor of --workers N, with every stop signal passed on to the workers and one
    place where a worker's exit is known (`on_worker_exit`, e.g. for prometheus' multiprocess mode)."""

    def __init__(
        self,
        config: Config,
        sockets: list[socket.socket],
        *,
        signals: StopSignals,
        ready_delay_s: float,
        grace_s: float,
        on_worker_exit: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(config, sockets)
        self.ready_delay_s, self.grace_s = ready_delay_s, grace_s
        self.on_worker_exit = on_worker_exit
        self.signals = signals
        self.signals.listeners.append(self._on_stop_signal)
        for sig in STOP_SIGNALS:  # uvicorn's handlers only queue them; ours count them too
            signal.signal(sig, self.signals)

    def _on_stop_signal(self, count: int) -> None:
        if count == 1:
            self.should_exit.set()  # the run loop terminates the workers: their first SIGTERM
        else:
            for process in self.processes:  # a later one hurries them
                if process.pid is not None and process.exitcode is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(process.pid, signal.SIGTERM)

    def spawn(self) -> Process:
        process = DrainingProcess(
            self.config, self.sockets, ready_delay_s=self.ready_delay_s, grace_s=self.grace_s
        )
        process.start()
        return process

    def worker_exited(self, process: Process) -> None:
        """The one place a worker's end is known, whether it died or was stopped."""
        if self.on_worker_exit is not None and process.pid is not None:
            self.on_worker_exit(process.pid)

    def init_processes(self) -> None:
        self.processes = [self.spawn() for _ in range(self.processes_num)]

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for idx, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            self.worker_exited(process)
            if process.exitcode == STARTUP_FAILURE:
                log.error("worker %s failed to start: stopping", process.pid)
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            log.info("worker %s died: starting another", process.pid)
            self.processes[idx] = self.spawn()

    def handle_hup(self) -> None:
        log.info("SIGHUP: not supported by `serve` (restart it; the drain keeps requests safe)")

    def handle_ttin(self) -> None:
        self.processes_num += 1
        self.processes.append(self.spawn())

    def run(self) -> None:
        self.init_processes()
        while not self.should_exit.wait(0.5):
            self.handle_signals()
            self.keep_subprocess_alive()
        # The workers hold copies of the listening socket: without ours, the port is closed once the
        # last of them has closed its own, and new connections are refused, not left in the backlog.
        for sock in self.sockets:
            sock.close()
        self.terminate_all()
        for process in self.processes:
            process.join()
            self.worker_exited(process)


def uvicorn_config(settings: Settings, *, host: str, port: int, workers: int) -> Config:
    return Config(
        "server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        # uvicorn's loggers propagate to ours: one format (JSON in production), one redaction.
        log_config=None,
        proxy_headers=False,
        # Frames past the app's own limit (transport/websocket_protocols.py) are not even buffered.
        ws_max_size=settings.ws_max_message_bytes + 1024,
        ws_per_message_deflate=settings.ws_per_message_deflate,
        # A spawned worker imports the whole app before it answers the supervisor's ping; uvicorn's
        # 5 s, on a loaded machine, had workers killed as hung while still importing, again and again.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )


def run_server(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    signals: StopSignals,
    on_worker_exit: Callable[[int], None] | None = None,
) -> None:
    """Serve until a stop signal, then drain; return once every worker has exited."""
    config = uvicorn_config(settings, host=host, port=port, workers=workers)
    delay, grace = settings.drain_ready_delay, settings.drain_grace
    if workers > 1:
        supervisor = Supervisor(
            config,
            [config.bind_socket()],
            signals=signals,
            ready_delay_s=delay,
            grace_s=grace,
            on_worker_exit=on_worker_exit,
        )
        supervisor.run()
        return
    config.load_app()
    server = DrainingServer(config, ready_delay_s=delay, grace_s=grace, signals=signals)
    server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)
