"""What the fault harness prints: a row per fault from the clients' samples, and the write checks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bench.fault_data import Checks
from bench.fault_load import Ledger, Sample

# Recovered: the first request after the fault's end that starts this many successes in a row.
RECOVERED_AFTER = 10


@dataclass(frozen=True)
class Window:
    """One fault: injected at `start`, over at `end` (the server is back), watched until `until`."""

    name: str
    start: float
    end: float
    until: float


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def recovery_s(samples: list[Sample], end: float) -> float | None:
    """Seconds from `end` to the start of the first run of RECOVERED_AFTER successes after it."""
    after = sorted((s for s in samples if s.at >= end), key=lambda s: s.at)
    run = 0
    for i, sample in enumerate(after):
        run = run + 1 if sample.ok else 0
        if run == RECOVERED_AFTER:
            return max(after[i - RECOVERED_AFTER + 1].at - end, 0.0)
    return None


def row(window: Window, samples: list[Sample]) -> dict[str, str]:
    # A request counts under the fault it ended in: one sent as a fault settles and cut by the next
    # (a PostgreSQL restart right after Redis thawed) failed of the next.
    seen = [s for s in samples if window.start <= s.ended < window.until]
    during = [s.ms for s in seen if s.at < max(window.end, window.start + 0.001)] or [s.ms for s in seen]
    failures = Counter(f"{s.kind}:{s.code or s.status}" for s in seen if not s.ok)
    statuses = Counter(str(s.status) for s in seen)
    recovery = recovery_s(seen, window.end) if failures else 0.0
    return {
        "fault": window.name,
        "requests": str(len(seen)),
        "failed": str(sum(failures.values())),
        "failures (kind:code n)": " ".join(f"{c} {n}" for c, n in failures.most_common()) or "-",
        "statuses": " ".join(f"{c}:{n}" for c, n in sorted(statuses.items())),
        "p50 ms": f"{_percentile(during, 50):.0f}",
        "p99 ms": f"{_percentile(during, 99):.0f}",
        "recovery s": "never" if recovery is None else f"{recovery:.2f}",
    }


def print_rows(rows: list[dict[str, str]]) -> None:
    header = list(rows[0])
    widths = [max(len(h), *(len(r[h]) for r in rows)) for h in header]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(r[h].ljust(w) for h, w in zip(header, widths, strict=True)))


def print_writes(ledger: Ledger, checks: Checks) -> None:
    lost = max(ledger.events - checks.events, 0)
    duplicated = max(checks.events - ledger.events, 0)
    users = set(ledger.redemptions) | set(checks.redemptions)
    lost_r = sum(max(ledger.redemptions[u] - checks.redemptions[u], 0) for u in users)
    dup_r = sum(max(checks.redemptions[u] - ledger.redemptions[u], 0) for u in users)
    print(
        f"\nevents acknowledged {ledger.events}, stored {checks.events}: lost {lost}, duplicated {duplicated}"
    )
    acknowledged, stored = sum(ledger.redemptions.values()), sum(checks.redemptions.values())
    print(f"redemptions acknowledged {acknowledged}, stored {stored}: lost {lost_r}, duplicated {dup_r}")
    print(f"writes never acknowledged (gave up retrying): {ledger.unacknowledged}")
    print(f"balances not equal to their ledger sums: {checks.unbalanced}")
