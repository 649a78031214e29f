"""What tracing costs the dashboard request: one server with tracing off and one exporting every span
over OTLP/HTTP (to a local receiver that discards them), side by side, measured in alternating rounds.

    python -m bench.tracing --concurrency 8 --seconds 5 --rounds 3

Prints requests/s and p50/p95 of each, and the ratio on / off. Loopback only; bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from bench.dashboard import DASHBOARD
from bench.harness import UNCACHED, UNLIMITED_BUDGET, bench_database, live_app, print_table, run_load
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role


@contextmanager
def discarding_collector() -> Iterator[str]:
    """An OTLP/HTTP endpoint that reads each export and answers 200: the collector's cost is not ours."""

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--first", type=int, default=20)
    args = parser.parse_args()

    settings = Settings()
    today = dt.datetime.now(dt.UTC).date()
    variables = {
        "first": args.first,
        "range": {"start": (today - timedelta(days=29)).isoformat(), "end": today.isoformat()},
    }
    token = mint_access_token(
        secret=signing_secret(settings), user_id=1, role=Role.ADMIN, ttl=timedelta(hours=1)
    )
    headers = {"authorization": f"Bearer {token}"}
    env = {**UNLIMITED_BUDGET, **UNCACHED}
    results: dict[str, list] = {"off": [], "on": []}
    with bench_database(settings) as url, discarding_collector() as collector:
        traced = {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": collector}
        with (
            live_app("server:create_app", url, env=env) as off,
            live_app("server:create_app", url, env=traced) as on,
        ):
            for _ in range(args.rounds):
                for name, live in (("off", off), ("on", on)):

                    async def call(client: httpx.AsyncClient, base: str = live.base) -> httpx.Response:
                        body = {"query": DASHBOARD, "variables": variables}
                        return await client.post(f"{base}/graphql", json=body, headers=headers)

                    load = run_load(call, concurrency=args.concurrency, seconds=args.seconds)
                    results[name].append(asyncio.run(load))

    rows = [("clients, rounds x seconds", f"{args.concurrency}, {args.rounds} x {args.seconds:g}")]
    rps = {}
    for name, loads in results.items():
        rps[name] = statistics.median(load.rps for load in loads)
        p50 = statistics.median(load.percentile(50) for load in loads)
        p95 = statistics.median(load.percentile(95) for load in loads)
        errors = sum(load.errors for load in loads)
        rows.append(
            (
                f"tracing {name}",
                f"{rps[name]:8.1f} req/s  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  errors {errors}",
            )
        )
    rows.append(("on / off (req/s)", f"{rps['on'] / rps['off']:.2f}"))
    print_table("Dashboard with and without traces (medians of the rounds)", rows)


if __name__ == "__main__":
    main()
