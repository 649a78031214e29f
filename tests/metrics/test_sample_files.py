"""`serve` clears the sample files of processes that are gone, never those of a live process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.metrics_dir import wipe


def _finished_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_wipe_keeps_live_processes_files_and_deletes_the_rest(tmp_path: Path) -> None:
    # A test process that starts `serve` hands it its own directory: the parent's files are live.
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        mine = tmp_path / f"counter_{os.getpid()}.db"
        live = tmp_path / f"gauge_livesum_{parent.pid}.db"
        gone = tmp_path / f"counter_{_finished_pid()}.db"
        unnamed = tmp_path / "stray.db"
        for entry in (mine, live, gone, unnamed):
            entry.write_bytes(b"")
        assert wipe(tmp_path) == 2
        assert sorted(entry.name for entry in tmp_path.iterdir()) == sorted([mine.name, live.name])
    finally:
        parent.kill()
        parent.wait()
