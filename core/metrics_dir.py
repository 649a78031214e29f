"""Where prometheus-client's multiprocess mode keeps the samples of one `serve`'s processes.

prometheus-client chooses between in-memory and file-backed values when it is first imported, from
PROMETHEUS_MULTIPROC_DIR; core/metrics.py imports this module first, so that variable is set in
every process before any metric exists. Child processes (uvicorn's workers, the job worker) inherit
it, which is how their samples meet in one directory.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from pathlib import Path

from core.settings import get_settings

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# prometheus-client names each process's files <kind>_<pid>.db (gauges: gauge_<mode>_<pid>.db).
SAMPLE_FILE = re.compile(r"_(\d+)\.db$")


def _remove_when_done(path: str, owner: int) -> None:
    # Forked children run atexit handlers too; only the process that made the directory removes it.
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)


def prepare() -> Path:
    """Set PROMETHEUS_MULTIPROC_DIR (METRICS_DIR, else an inherited one, else a new private one)."""
    configured = get_settings().metrics_dir
    if configured is not None:
        os.environ[ENVIRONMENT_VARIABLE] = str(configured)
    elif not os.environ.get(ENVIRONMENT_VARIABLE):
        made = tempfile.mkdtemp(prefix="swipesavvy-metrics-")
        atexit.register(_remove_when_done, made, os.getpid())
        os.environ[ENVIRONMENT_VARIABLE] = made
    path = Path(os.environ[ENVIRONMENT_VARIABLE])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wipe(path: Path) -> int:
    """Delete the sample files left by processes that are gone; `serve` calls this before starting any
    worker. A live process's files stay: this one's (metrics made at import), and those of whoever
    started this `serve` with the directory inherited (a test process): deleting a file another process
    still writes would lose its samples for good. Returns how many were deleted."""
    deleted = 0
    for entry in path.glob("*.db"):
        match = SAMPLE_FILE.search(entry.name)
        if match is None or not _alive(int(match.group(1))):
            entry.unlink(missing_ok=True)
            deleted += 1
    return deleted


DIRECTORY = prepare()


def forget_process(pid: int) -> None:
    """A server worker is gone (died or stopped): its live gauges (pool connections in use, WebSocket
    connections) stop counting. Called by the supervisor (core/serving.py `on_worker_exit`)."""
    from prometheus_client.multiprocess import mark_process_dead

    mark_process_dead(pid, str(DIRECTORY))
