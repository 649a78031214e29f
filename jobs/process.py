"""The worker `serve` starts beside uvicorn: a child process of the supervisor, not a task in each
uvicorn worker, so `--workers N` still runs exactly one job worker per `serve`."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from core.settings import PROJECT_ROOT, Settings

PR_SET_PDEATHSIG = 1
# Past the grace period the worker aborts its jobs itself; this is for one that hangs anyway.
STOP_MARGIN_S = 10.0


def _die_with_parent() -> None:
    # Linux: a supervisor killed outright (SIGKILL, OOM) takes its worker down too, instead of leaving
    # it running against a server that is gone. Elsewhere nothing is done.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (AttributeError, OSError):
        pass


class BesideWorker:
    """The job worker process of a `serve`, told to stop once per stop signal `serve` gets."""

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        self.child = child
        self.signalled = 0

    @property
    def pid(self) -> int:
        return self.child.pid

    def pass_on(self, count: int) -> None:
        """Signal `count` of `serve` (core/serving.py StopSignals): the first makes the worker drain, a
        later one hurry (running jobs given back to the queue at once). Called in a signal handler."""
        if count > self.signalled and self.child.poll() is None:
            self.signalled = count
            self.child.send_signal(signal.SIGTERM)


@contextmanager
def worker_beside_server(settings: Settings) -> Iterator[BesideWorker | None]:
    """Run `python server.py worker` while the block runs (unless JOB_WORKER_IN_SERVER is off), then
    stop it gracefully. It inherits the environment: DATABASE_URL of the embedded server too."""
    if not settings.job_worker_in_server:
        yield None
        return
    child = subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "server.py"), "worker"],
        cwd=PROJECT_ROOT,
        # Its own process group: a Ctrl-C at the terminal reaches the supervisor only, which then
        # sends one SIGTERM (a second signal would make the worker abort its jobs at once).
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
    )
    worker = BesideWorker(child)
    try:
        yield worker
    finally:
        if worker.signalled == 0:  # one more SIGTERM than was asked for would hurry it
            worker.pass_on(1)
        try:
            child.wait(timeout=settings.job_grace + STOP_MARGIN_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
