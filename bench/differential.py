"""The full differential run: every query document of tests/ and the README, the generated corpus
(2,000 queries per role by default) and the injected errors, each run by both executors as every role
against one seeded demo state. Prints per role: queries, agree/disagree, coverage (share of answers
with data at depth 3 or more), time; then the first disagreement, if any (exit status 1).

    .venv/bin/python -m bench.differential [--per-role 2000] [--concurrency 6]
    .venv/bin/python -m bench.differential --regenerate     # rewrite tests/differential/corpus.json

The full corpus is made from the committed seed the first time (Hypothesis: about a quarter of an hour
on two cores) and kept under DATA_DIR/differential/ for later runs. `DIFF_CANDIDATE=module:Class`
chooses the candidate executor (tests/differential/executors.py). Uses the embedded PostgreSQL unless
DATABASE_URL names a server; creates and drops a database `swipesavvy_differential_<pid>` on it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy.engine import make_url

from core import database_admin as databases
from core.embedded import EmbeddedServices
from core.settings import Settings
from schema import schema as api
from tests.differential import corpus as generated
from tests.differential.answers import field_path, unstable_paths
from tests.differential.compare import Mismatch
from tests.differential.documents import collected_cases
from tests.differential.faults import FAULTS, run_faults
from tests.differential.harness import comparing, corpus_cases
from tests.differential.world import load_world, seeded_database

# One database per run, so two runs (a full run and a --regenerate, say) never drop each other's.
DATABASE = f"swipesavvy_differential_{os.getpid()}"
FAULTED_PER_ROLE = 200


def _print_stats(stats: Counter[str]) -> None:
    for key, n in sorted(stats.items()):
        print(f"  {key}: {n}")


def _full_corpus(settings: Settings, world, per_role: int) -> Path:  # type: ignore[no-untyped-def]
    cache = settings.data_dir / "differential"
    path = cache / f"corpus-{generated.SEED}-{per_role}-{world.fingerprint()}.json"
    if not path.exists():
        started = time.perf_counter()
        print(f"generating {per_role} queries per role from seed {generated.SEED} ...", flush=True)
        corpus, stats = generated.generate(api._schema, world, per_role)
        cache.mkdir(parents=True, exist_ok=True)
        generated.write(corpus, path)
        print(f"generated in {time.perf_counter() - started:.0f}s into {path}")
        _print_stats(stats)
    return path


def _where(mismatches: list[Mismatch]) -> Counter[str]:
    """What differs, by part and field path (errors, or the data's shape, when no leaf says it)."""
    found: Counter[str] = Counter()
    for m in mismatches:
        leaves = unstable_paths(m.reference.data, m.candidate.data)
        if m.reference.data == m.candidate.data:
            found[f"{m.label}: errors"] += 1
        elif leaves is None:
            found[f"{m.label}: shape of data (keys, key order or list lengths)"] += 1
        else:
            found.update(f"{m.label}: {field_path(p)}" for p in leaves)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


async def _drop_leftovers(server_url: str) -> None:
    """Databases of earlier runs that were killed before they could drop them."""
    prefix = DATABASE.rsplit("_", 1)[0] + "_"
    for name in await databases.list_databases(server_url, prefix):
        pid = name[len(prefix) :]
        if pid.isdigit() and not _alive(int(pid)):
            await databases.drop_database(server_url, name)


async def _run(settings: Settings, server_url: str, args: argparse.Namespace) -> int:
    await _drop_leftovers(server_url)
    started = time.perf_counter()
    url = await seeded_database(server_url, DATABASE)
    try:
        world = await load_world(url)
        print(f"seeded demo state in {time.perf_counter() - started:.0f}s (state {world.fingerprint()})")
        if args.regenerate:
            corpus, stats = generated.generate(api._schema, world, generated.SLICE_PER_ROLE)
            generated.write(corpus, generated.CORPUS)
            print(f"wrote {len(corpus['cases'])} cases to {generated.CORPUS}")
            _print_stats(stats)
            return 0
        path = _full_corpus(settings, world, args.per_role)
        cases, warning = corpus_cases(path, world)
        if warning:
            print(f"warning: {warning}")
        documents, skipped = collected_cases(api._schema, world)
        async with comparing(url, world, concurrency=args.concurrency) as comparison:
            print(comparison.executors.describe())
            parts = [("tests/ and README documents", documents), ("generated corpus", cases)]
            for title, part in parts:
                comparison.tallies.clear()
                began = time.perf_counter()
                await comparison.run_by_role(part, title)
                print(f"\n{title} ({len(part)} runs, {time.perf_counter() - began:.0f}s)")
                print(comparison.report())
            print(f"documents skipped (required variables not fillable): {skipped}")
            comparison.tallies.clear()
            began = time.perf_counter()
            await run_faults(comparison, cases, per_role=FAULTED_PER_ROLE)
            print(
                f"\ninjected errors ({len(FAULTS)} faults, and {FAULTED_PER_ROLE} generated queries per role"
                f" with by-id loads failing; {time.perf_counter() - began:.0f}s)"
            )
            print(comparison.report())
            if comparison.mismatches:
                print(f"\n{len(comparison.mismatches)} disagreements, where:")
                for where, n in _where(comparison.mismatches).most_common(20):
                    print(f"  {n:>5}  {where}")
                print(f"\nthe first:\n{comparison.mismatches[0]}")
                return 1
            print("\nno disagreement")
            return 0
    finally:
        await databases.drop_database(server_url, make_url(url).database or DATABASE)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-role", type=int, default=generated.FULL_PER_ROLE)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--regenerate", action="store_true", help="rewrite the committed slice corpus")
    args = parser.parse_args()
    settings = Settings()
    embedded = EmbeddedServices(data_dir=settings.data_dir, database_name=settings.embedded_database_name)
    try:
        server_url = settings.database_url or embedded.start_postgres()
        sys.exit(asyncio.run(_run(settings, server_url, args)))
    finally:
        embedded.stop()


if __name__ == "__main__":
    main()
