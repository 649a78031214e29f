"""Where the server's CPU goes on one bench document: py-spy samples of the worker under a closed
loop, summed by the layer of the innermost frame of each sample (what was running, not who called it).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.profile \\
        [--document 0] [--clients 8] [--seconds 15] [--raw FILE]

One uvicorn worker in production mode, the same settings and requests as bench.compare (documents
0, 1, 2: query 1, the flat list, evaluateFlags). Prints figures; asserts nothing. py-spy cannot see
the garbage collector: a collection is counted in whatever frame triggered it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from bench import procstat
from bench.compare import FACTORIES, _facts, _headers, _redis, _run
from bench.documents import requests
from bench.harness import UNLIMITED_BUDGET, bench_database, live_app
from bench.openloop import closed_loop, request_bytes
from core.settings import PROJECT_ROOT, Settings

# (layer, pattern of the frame's file), first match wins.
LAYERS: list[tuple[str, re.Pattern[str]]] = [
    (label, re.compile(pattern))
    for label, pattern in [
        ("planned executor (schema/execution)", r"(^|/)schema/execution/"),
        ("graphql-core", r"(^|/)graphql/"),
        ("Strawberry", r"(^|/)strawberry/"),
        ("SQLAlchemy", r"(^|/)sqlalchemy/"),
        ("asyncpg", r"(^|/)asyncpg/"),
        ("aiodataloader", r"(^|/)aiodataloader/"),
        ("redis client", r"(^|/)redis/"),
        ("HTTP server (uvicorn, starlette, httptools)", r"(^|/)(uvicorn|starlette|httptools|h11)/"),
        ("JSON, JWT, pydantic", r"(^|/)(orjson|jwt|pydantic|pydantic_core)/"),
        ("event loop (asyncio, uvloop)", r"(^|/)(asyncio/|uvloop|selectors\.py)"),
        ("project: loaders", r"(^|/)loaders/"),
        ("project: resolvers", r"(^|/)resolvers/"),
        ("project: schema types and extensions", r"(^|/)schema/"),
        ("project: transport and core", r"(^|/)(transport|core)/"),
    ]
]
FRAME = re.compile(r"\((?P<file>[^:()]+):\d+\)$")


def layer_of(frame: str) -> str:
    match = FRAME.search(frame)
    path = match.group("file") if match else frame
    for label, pattern in LAYERS:
        if pattern.search(path):
            return label
    return "other (stdlib, builtins)"


def summarise_file(raw: Path) -> Counter[str]:
    return summarise(raw.read_text())


def summarise(text: str) -> Counter[str]:
    """Samples per layer from py-spy's raw output: one line per stack, `frame;frame;... count`."""
    totals: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        innermost = stack.split(";")[-1]
        totals[layer_of(innermost)] += int(count)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--document", type=int, default=0, help="0 query 1, 1 flat list, 2 evaluateFlags")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--raw", type=Path, default=None, help="keep py-spy's raw samples here")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")
    settings = Settings()
    secret = secrets.token_urlsafe(48)
    env = {
        "JWT_SECRET": secret,
        "REDIS_KEY_PREFIX": f"bench-profile-{uuid.uuid4().hex[:8]}:",
        **UNLIMITED_BUDGET,
        "DB_CONNECTIONS_PER_CALLER": str(settings.db_pool_size),
        "APP_ENV": "production",
        "NOTIFIER_LOG_IN_PRODUCTION": "true",
    }
    request = requests(dt.datetime.now(dt.UTC).date())[args.document]
    raw = args.raw or Path(tempfile.mkdtemp()) / "samples.txt"
    with ExitStack() as stack:
        url = stack.enter_context(bench_database(settings))
        redis_url = stack.enter_context(_redis(settings))
        facts = _run(_facts(url, redis_url))
        live = stack.enter_context(live_app(FACTORIES["server"], url, redis_url=redis_url, env=env))
        wire = request_bytes(f"{live.base}/graphql", request.body, _headers(secret, request, facts))
        _run(closed_loop(live.base, wire, clients=args.clients, seconds=2))  # warm-up
        spy = subprocess.Popen(
            [py_spy, "record", "--pid", str(live.pid), "--format", "raw", "--output", str(raw),
             "--rate", "250", "--duration", str(int(args.seconds)), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT_ROOT, env=os.environ,
        )  # fmt: skip
        cpu_before = procstat.cpu_seconds(live.pid)
        run = _run(closed_loop(live.base, wire, clients=args.clients, seconds=args.seconds))
        cpu_ms = (procstat.cpu_seconds(live.pid) - cpu_before) * 1000 / max(run.answered, 1)
        peak_mb = procstat.memory_kib(live.pid, "VmHWM") / 1024
        spy.wait(timeout=args.seconds + 30)
    totals = summarise_file(raw)
    samples = sum(totals.values()) or 1
    print(f"\n{request.name}: {run.answered} requests in {run.seconds:.1f} s ({run.rps:.1f}/s), "
          f"{args.clients} clients, 1 worker; CPU {cpu_ms:.1f} ms/request (with py-spy attached), "
          f"peak RSS {peak_mb:.0f} MB; {samples} samples (raw: {raw})")  # fmt: skip
    for label, count in totals.most_common():
        print(f"  {count / samples:6.1%}  {label}")


if __name__ == "__main__":
    main()
