"""uvicorn's worker supervisor, telling prometheus-client when a worker process is gone.

Multiprocess mode keeps each process's samples in files named by its pid; a "live" gauge (pool
connections in use, WebSocket connections) must stop counting a worker that died, which
`mark_process_dead(pid)` does by deleting that pid's live-gauge files. uvicorn's supervisor has no
hook for a worker's end, so this subclass compares its workers before and after each step that can
replace or drop one (a dead or hung worker restarted, SIGHUP, SIGTTOU, shutdown).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client.multiprocess import mark_process_dead
from uvicorn.supervisors.multiprocess import Multiprocess

from core.metrics import DIRECTORY


class MarkingMultiprocess(Multiprocess):
    def _marking(self, step: Callable[[], Any]) -> None:
        before = {process.pid for process in self.processes}
        step()
        for pid in before - {process.pid for process in self.processes}:
            if pid is not None:
                mark_process_dead(pid, str(DIRECTORY))

    def keep_subprocess_alive(self) -> None:
        self._marking(super().keep_subprocess_alive)

    def restart_all(self) -> None:
        self._marking(super().restart_all)

    def handle_ttou(self) -> None:
        self._marking(super().handle_ttou)

    def join_all(self) -> None:
        super().join_all()
        for process in self.processes:
            if process.pid is not None:
                mark_process_dead(process.pid, str(DIRECTORY))


@contextmanager
def marking_dead_workers() -> Iterator[None]:
    """While the block runs, `uvicorn.run(workers=N)` supervises with MarkingMultiprocess."""
    # The module by its name: the package's attribute `uvicorn.main` is the click command.
    runner = importlib.import_module("uvicorn.main")
    original = runner.Multiprocess
    runner.Multiprocess = MarkingMultiprocess
    try:
        yield
    finally:
        runner.Multiprocess = original
