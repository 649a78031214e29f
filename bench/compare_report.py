"""The tables `python -m bench.compare` prints: per document and round, server against floor and their
ratios, then the issue's targets, each met or not (worst round counts). Nothing is asserted."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

MB = 1_000_000


@dataclass(frozen=True)
class Measure:
    """A closed loop: throughput and the worker's CPU time per answered request."""

    rps: float
    cpu_ms: float
    errors: int
    failures: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class OpenMeasure:
    """An open loop at `rate`: latency from the scheduled send, and how late the sends were."""

    rate: float
    p50: float
    p99: float
    lag_p99: float
    connections: int
    errors: int
    late: int
    cpu_ms: float
    failures: Counter[str] = field(default_factory=Counter)


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


COLUMNS = (
    f"{'round':<6}{'':<8}{'req/s':>9}{'CPU ms/req':>12}{'errors':>8}  |"
    f"{'offered/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'send lag p99':>14}{'conns':>7}{'errors':>8}{'late':>7}"
    f"{'CPU ms/req':>12}"
)


def _open_cpu(o: OpenMeasure) -> str:
    # With requests left unanswered, the CPU spent on them has no answered request to be divided by.
    return f"{o.cpu_ms:.2f}" if not o.late else "n/a"


def _row(label: str, number: int, c: Measure, o: OpenMeasure) -> str:
    return (
        f"{number:<6}{label:<8}{c.rps:>9.1f}{c.cpu_ms:>12.2f}{c.errors:>8}  |"
        f"{o.rate:>10.1f}{o.p50:>9.1f}{o.p99:>9.1f}{o.lag_p99:>14.2f}{o.connections:>7}{o.errors:>8}{o.late:>7}"
        f"{_open_cpu(o):>12}"
    )


def _ratio_row(number: int, closed: dict[str, Measure], opened: dict[str, OpenMeasure]) -> str:
    s, f = closed["server"], closed["floor"]
    so, fo = opened["server"], opened["floor"]
    return (
        f"{number:<6}{'ratio':<8}{_ratio(s.rps, f.rps):>8.2f}x{_ratio(s.cpu_ms, f.cpu_ms):>11.2f}x{'':>8}  |"
        f"{'':>10}{_ratio(so.p50, fo.p50):>8.2f}x{_ratio(so.p99, fo.p99):>8.2f}x"
    )


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def print_report(
    header: dict[str, str],
    results: list[tuple[Any, list[tuple[dict[str, Measure], dict[str, OpenMeasure]]], dict[str, int]]],
    server_statements: list[int],
    floor_statements: list[int],
    hit_ratios: list[float] | None = None,
) -> None:
    """`results` holds, per request in bench/documents.py's order (query 1, flat list, evaluateFlags),
    the rounds' measures and the peak RSS (VmHWM, KiB) of both workers after that request's runs."""
    print("\nServer vs floor (bench/floor.py): rough figures, one run each; ratios are server / floor")
    width = max(len(k) for k in header)
    for key, value in header.items():
        print(f"  {key:<{width}}  {value}")
    for (request, rounds, peak), statements, floor in zip(
        results, server_statements, floor_statements, strict=True
    ):
        print(
            f"\n{request.name}: SQL statements per request server {statements},"
            f" floor {floor} (+ BEGIN, COMMIT)"
        )
        print(
            f"  peak RSS after these runs (VmHWM): server {peak['server'] * 1024 / MB:.0f} MB,"
            f" floor {peak['floor'] * 1024 / MB:.0f} MB"
        )
        print(COLUMNS)
        for number, (closed, opened) in enumerate(rounds, start=1):
            for target in ("server", "floor"):
                print(_row(target, number, closed[target], opened[target]))
            print(_ratio_row(number, closed, opened))
    if hit_ratios is not None:
        _cache_targets(results, hit_ratios)
    else:
        _targets(results, server_statements)
    _errors(results)


def _cache_targets(results: list[Any], hit_ratios: list[float]) -> None:
    print("\nTargets (worst round), answers from the response cache (the floor's from one Redis GET):")
    for number, ((request, rounds, _), ratio) in enumerate(zip(results, hit_ratios, strict=True)):
        cpu = max(_ratio(c["server"].cpu_ms, c["floor"].cpu_ms) for c, _ in rounds)
        # The issue's target is query 1's; the flat list's ratio is shown for comparison only.
        name = f"{request.name} hit CPU/request" + (" <= 1.5x floor's" if number == 0 else "")
        verdict = _verdict(cpu <= 1.5) if number == 0 else "(no target)"
        print(f"  {name:<50} {cpu:6.2f}x   {verdict}   hit ratio {ratio:.3f}")


def _targets(results: list[Any], server_statements: list[int]) -> None:
    """The targets of the documents measured (`--only` may have left some out)."""
    print("\nTargets (worst round):")
    for (request, rounds, peak), statements in zip(results, server_statements, strict=True):
        cpu = max(_ratio(c["server"].cpu_ms, c["floor"].cpu_ms) for c, _ in rounds)
        p99 = max(o["server"].p99 for _, o in rounds)
        if request.name.startswith("query 1"):
            rss = peak["server"] * 1024 / MB
            _target("query 1 CPU/request <= 1.5x floor's", f"{cpu:6.2f}x", cpu <= 1.5)
            _target("query 1 p99 < 500 ms at the offered rate", f"{p99:6.1f} ms", p99 < 500)
            _target("query 1 statements <= 8", f"{statements:6d}", statements <= 8)
            _target("RSS per worker < 250 MB (dashboard load)", f"{rss:6.0f} MB", rss < 250)
        elif request.name.startswith("flat list"):
            _target("flat list CPU/request <= 2x floor's", f"{cpu:6.2f}x", cpu <= 2)
        elif request.name.startswith("evaluateFlags"):
            _target("evaluateFlags CPU/request <= 2x floor's", f"{cpu:6.2f}x", cpu <= 2)
            _target("evaluateFlags p99 < 10 ms at offered rate", f"{p99:6.1f} ms", p99 < 10)


def _target(name: str, figure: str, met: bool) -> None:
    print(f"  {name:<44} {figure:<12} {_verdict(met)}")


def _errors(results: list[Any]) -> None:
    errors = sum(m.errors for _, rounds, _ in results for c, o in rounds for m in (*c.values(), *o.values()))
    late = sum(m.late for _, rounds, _ in results for _, o in rounds for m in o.values())
    if errors:
        kinds: Counter[str] = Counter()
        for _, rounds, _ in results:
            for c, o in rounds:
                for m in (*c.values(), *o.values()):
                    kinds.update(m.failures)
        shown = ", ".join(f"{n} x {kind}" for kind, n in kinds.most_common())
        print(
            f"\n  {errors} answers were errors, by HTTP status (200: GraphQL errors in the body) or"
            f" dropped connection: {shown}"
        )
    if late:
        print(
            f"  {late} open-loop requests were unanswered when the wait after the schedule ended: the target"
            " was overloaded at that rate (their latency counts as infinite)."
        )
