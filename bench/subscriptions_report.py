"""The tables `python -m bench.subscriptions` prints: the setup, each server's RSS per level of idle
subscribers, the delivery latencies and their ratios to the relay's, then the issue's targets, each
met or not. Nothing is asserted."""

from __future__ import annotations

import argparse
import datetime as dt
import math

from bench.harness import print_table
from bench.subscription_rounds import WARMUP_ROUNDS, Figures
from bench.ws_clients import VIEWER_MIX

MB = 1024  # KiB per MiB
RSS_TARGET_MB = 250
RSS_TARGET_SUBSCRIBERS = 5000
P99_TARGET_MS = 100.0
P99_TARGET_RATIO = 3.0
REFERENCES = (
    ("relay", "publish", "relay: PUBLISH -> receipt"),
    ("server", "updatedAt", "ours: transaction start (updatedAt) -> receipt"),
    ("server", "channel", "ours: change heard on the feed's channel -> receipt"),
    ("server", "answer", "ours: mutation's HTTP answer -> receipt"),
)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else math.nan


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _pooled(figures: Figures, reference: str) -> list[float]:
    return [v for each in figures.latency_ms.get(reference, []) for v in each]


def print_report(
    args: argparse.Namespace,
    env: dict[str, str],
    figures: dict[str, Figures],
    failed: dict[str, int],
    *,
    load: tuple[str, str],
) -> None:
    server, relay = figures["server"], figures["relay"]
    mix = ", ".join(role.value for role in VIEWER_MIX)
    settings = {k: v for k, v in env.items() if k != "JWT_SECRET"}
    print_table(
        "Setup",
        [
            ("servers", "ours (server:create_app) and the relay (bench.relay), 1 uvicorn process each"),
            ("ours, settings", ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))),
            ("clients", f"{args.client_processes} swarm process(es) per server (bench/ws_clients.py)"),
            ("permessage-deflate", "offered by the clients" if args.compression else "not offered"),
            (
                "subscribers",
                f"{', '.join(map(str, args.subscribers))}; viewers in turn: {mix}"
                ": 4 scopes, so 4 shared streams",
            ),
            ("subscription", "campaignStatusChanged(id) on one campaign, graphql-transport-ws"),
            (
                "latency",
                f"{args.rounds} rounds per server at {args.subscribers[0]} subscribers, alternating,"
                f" after {WARMUP_ROUNDS} uncounted",
            ),
            ("failed to subscribe", f"ours {failed['server']}, relay {failed['relay']}"),
            (
                "missing / wrong receipts",
                f"ours {server.missing} / {server.wrong}, relay {relay.missing} / {relay.wrong}",
            ),
            ("machine before", load[0]),
            ("machine after", load[1]),
            ("date", dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
        ],
    )

    print("\nRSS of the worker with idle subscribers (MiB; + is over the same process at 0)")
    print(
        f"{'subscribers':>12}{'ours':>10}{'+ours':>10}{'relay':>10}{'+relay':>10}"
        f"{'+ours/+relay':>14}{'KiB/sub ours':>14}"
    )
    for level in sorted(server.rss_kib):
        ours, base = server.rss_kib[level], relay.rss_kib.get(level, math.nan)
        more, more_relay = ours - server.rss_kib[0], base - relay.rss_kib[0]
        ratio = f"{more / more_relay:.2f}x" if level and more_relay > 0 else ""
        per = f"{more / level:.1f}" if level else ""
        print(
            f"{level:>12}{ours / MB:>10.1f}{more / MB:>10.1f}{base / MB:>10.1f}{more_relay / MB:>10.1f}"
            f"{ratio:>14}{per:>14}"
        )

    print(f"\nDelivery at {args.subscribers[0]} subscribers, {args.rounds} rounds pooled (ms)")
    width = max(len(label) for *_, label in REFERENCES)
    print(
        f"{'':<{width}}{'p50':>9}{'p99':>9}{'max':>9}{'round p99: median':>19}{'worst':>8}{'p99/relay':>11}"
    )
    relay_p99 = percentile(_pooled(relay, "publish"), 99)
    for name, reference, label in REFERENCES:
        pooled = _pooled(figures[name], reference)
        per_round = [percentile(r, 99) for r in figures[name].latency_ms.get(reference, [])]
        ratio = f"{percentile(pooled, 99) / relay_p99:.2f}x" if name == "server" and relay_p99 > 0 else ""
        print(
            f"{label:<{width}}{percentile(pooled, 50):>9.1f}{percentile(pooled, 99):>9.1f}"
            f"{max(pooled, default=math.nan):>9.1f}{percentile(per_round, 50):>19.1f}"
            f"{max(per_round, default=math.nan):>8.1f}{ratio:>11}"
        )
    # /proc counts CPU time in clock ticks (10 ms): the mean over every round, not one round's figure.
    cpu = {
        name: sum(figures[name].cpu_ms) / max(1, len(figures[name].cpu_ms)) for name in ("server", "relay")
    }
    print(
        f"CPU time of the process per round (mean): ours {cpu['server']:.1f} ms (the mutation's request"
        f" included), relay {cpu['relay']:.1f} ms"
    )

    # The commit lies between the transaction's start (updatedAt) and the change's arrival on the
    # channel: commit -> delivery is at most the first figure and at least the second.
    upper = percentile(_pooled(server, "updatedAt"), 99)
    lower = percentile(_pooled(server, "channel"), 99)
    rows = []
    target_rss = f"{RSS_TARGET_SUBSCRIBERS} subscriptions in < {RSS_TARGET_MB} MB more RSS"
    if RSS_TARGET_SUBSCRIBERS in server.rss_kib:
        more = (server.rss_kib[RSS_TARGET_SUBSCRIBERS] - server.rss_kib[0]) / MB
        rows.append((target_rss, f"{more:.1f} MB: {_verdict(more < RSS_TARGET_MB)}"))
    else:
        rows.append((target_rss, "not measured at this scale"))
    at = args.subscribers[0]
    rows.append(
        (
            f"p99 < {P99_TARGET_MS:.0f} ms at {at} subscribers (commit -> delivery)",
            f"{lower:.1f} to {upper:.1f} ms: {_bounded(lower, upper, P99_TARGET_MS)}",
        )
    )
    low_ratio, high_ratio = (lower / relay_p99, upper / relay_p99) if relay_p99 > 0 else (math.nan, math.nan)
    rows.append(
        (
            f"p99 within {P99_TARGET_RATIO:g}x the relay's ({relay_p99:.1f} ms)",
            f"{low_ratio:.2f}x to {high_ratio:.2f}x: {_bounded(low_ratio, high_ratio, P99_TARGET_RATIO)}",
        )
    )
    if server.missing or server.wrong or failed["server"] or relay.missing or relay.wrong or failed["relay"]:
        rows.append(("every subscriber got every event once", "NO: see missing / wrong receipts"))
    print_table("Targets (issue 12, part 5)", rows)


def _bounded(lower: float, upper: float, target: float) -> str:
    """The verdict on a figure known to lie between `lower` and `upper`."""
    if upper < target:
        return "met"
    if lower >= target:
        return "NOT met"
    return "undecided (the target lies between the bounds)"
