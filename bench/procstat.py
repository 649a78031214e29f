"""What the compare run reads from /proc and sets with sched_setaffinity: a process's CPU time and
memory, the machine's load, and which cores PostgreSQL, Redis and the load generator may run on."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_kib(pid: int, field: str) -> int:
    """A field of /proc/PID/status in KiB: VmHWM (peak resident set) or VmRSS (now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def settle(pid: int, *, window_s: float = 0.5, quiet_share: float = 0.05, limit_s: float = 60.0) -> float:
    """Wait until the process is idle (under `quiet_share` of a core over `window_s`): a server left
    working through the backlog of an overloaded run would bill its CPU to the next run. Returns the
    seconds waited."""
    began = time.monotonic()
    while time.monotonic() - began < limit_s:
        before = cpu_seconds(pid)
        time.sleep(window_s)
        if cpu_seconds(pid) - before <= quiet_share * window_s:
            break
    return time.monotonic() - began


def _core_times() -> dict[str, tuple[int, int]]:
    """(busy, total) jiffies of each core from /proc/stat."""
    found = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name != "cpu":
            numbers = [int(v) for v in values]
            idle = numbers[3] + numbers[4]  # idle + iowait
            found[name] = (sum(numbers) - idle, sum(numbers))
    return found


def machine_load(sample_s: float = 0.5) -> str:
    """The load averages and each core's busy share over the next `sample_s` seconds."""
    before = _core_times()
    time.sleep(sample_s)
    after = _core_times()
    shares = []
    for name, (busy, total) in after.items():
        b0, t0 = before.get(name, (busy, total))
        shares.append(f"{name} {100 * (busy - b0) / max(1, total - t0):.0f}%")
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} {five:.2f}; busy {', '.join(shares)}"


def _tasks(pid: int) -> list[int]:
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except FileNotFoundError:
        return []


def children(pid: int) -> list[int]:
    """The pids whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(entry))
    return found


@dataclass
class Pinning:
    """Processes pinned to some cores, and their affinity before, to restore it afterwards.

    A postmaster's future backends inherit its affinity: pinning it pins the connections opened later.
    """

    saved: dict[int, set[int]]

    @classmethod
    def pin(cls, pids: Iterable[int], cores: set[int]) -> Pinning:
        saved: dict[int, set[int]] = {}
        for pid in pids:
            for task in _tasks(pid):
                try:
                    saved[task] = os.sched_getaffinity(task)
                    os.sched_setaffinity(task, cores)
                except (ProcessLookupError, PermissionError):
                    continue
        return cls(saved)

    def restore(self, *, also: Iterable[int] = (), default: set[int] | None = None) -> None:
        """Give each pinned task its old affinity back, and `also` (backends forked meanwhile) `default`."""
        everything = default or set(range(os.cpu_count() or 1))
        for task, cores in self.saved.items():
            try:
                os.sched_setaffinity(task, cores)
            except (ProcessLookupError, PermissionError):
                continue
        for pid in also:
            for task in _tasks(pid):
                if task not in self.saved:
                    try:
                        os.sched_setaffinity(task, everything)
                    except (ProcessLookupError, PermissionError):
                        continue


def postmaster_pid(data_directory: str) -> int | None:
    """The postmaster's pid from its postmaster.pid (readable by root or the server's own user)."""
    try:
        return int(Path(data_directory, "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
