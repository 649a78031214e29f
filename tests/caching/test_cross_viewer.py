"""No cached answer reaches a viewer who may not see it (issue 11, part 3).

For pairs of viewers (A, B) and every query of the README, of tests/ and a slice of the generated
corpus that the hints let a cache keep, over the seeded demo state: A asks with the response cache on
(filling it), then B asks the same with the cache on, and B's answer must be B's answer with the
cache off (data byte for byte and errors, tests/differential/answers.py; leaves that differ between
two fresh runs, the clock, are masked). Each filler has a cache namespace of its own, so every hit B
gets was made by A's request. B is asked only what A's answer was kept for (nothing else of A's is
there to meet), and only a hit needs comparing: a miss is executed for B like any request, its data
a fresh dict, where a hit's is the stored JSON spliced in (asserted). Pairs whose answers may be
shared (two marketers, a merchant's person and the same merchant's key) must hit often; pairs that
may share nothing must never hit, although A filled the cache. `pytest -s` prints the table.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from core.services import Services
from core.viewer import Viewer
from schema import schema as api
from schema.caching.cache import ResponseCache, response_cache_for
from schema.caching.keys import entry_key
from tests.caching.seeded import (  # noqa: F401 - the `seeded` and `runner` fixtures
    Runner,
    Seeded,
    cache_report,
    cached_answer,
    cases_of,
    runner_fixture,
    seeded_state,
)
from tests.differential.answers import Case, answer, masked, same, unstable_paths
from tests.differential.compare import Mismatch

# (A, B, whether their answers may be shared): both directions are run.
PAIRS = [
    ("merchant", "merchant2", False),
    ("customer", "customer2", False),
    ("marketer", "merchant", False),
    ("service_key", "marketer", False),
    ("merchant_key", "merchant", True),
    ("admin", "analyst", False),
    ("anonymous", "customer", False),
    ("marketer", "marketer2", True),
]
CONCURRENCY = 12
# A pair that may share is answered from A's entries at least this often (of the cases B asks).
MIN_SHARED_HITS = 30
# A pair that may share nothing still had this many of A's answers kept: its zero hits mean something.
MIN_KEPT = 10
# The broken cache of the control test gives at least this many wrong answers to the other merchant.
MIN_CAUGHT = 10


@dataclass
class Tally:
    kept: int = 0  # A's answers the cache kept (each asked by B)
    hits: int = 0  # B's answers served from the cache
    unstable: int = 0  # agreed once the leaves two fresh runs answer differently were masked
    leaks: list[Mismatch] = field(default_factory=list)

    def line(self, label: str) -> str:
        return (
            f"{label:<28} A kept {self.kept:>4}  B hits {self.hits:>4}"
            f"  unstable {self.unstable:>3}  leaks {len(self.leaks):>3}"
        )


def _askers() -> dict[str, list[str]]:
    """Who asks after whom: every viewer that fills, and the viewers paired with it (both directions)."""
    found: dict[str, list[str]] = {}
    for first, second, _ in PAIRS:
        found.setdefault(first, []).append(second)
        found.setdefault(second, []).append(first)
    return found


async def _each(cases: list[tuple[int, Case]], work: Callable[[int, Case], Awaitable[None]]) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(index: int, case: Case) -> None:
        async with gate:
            await work(index, case)

    async with asyncio.TaskGroup() as group:
        for index, case in cases:
            group.create_task(one(index, case))


async def _fill(runner: Runner, viewer: Viewer, cases: list[Case], services: Services) -> list[int]:
    """A's requests, with the cache on; the cases whose answer it kept."""
    kept: list[int] = []

    async def fill(index: int, case: Case) -> None:
        if cache_report(await runner.execute(viewer, case, services)).get("maxAge"):
            kept.append(index)

    await _each(list(enumerate(cases)), fill)
    return sorted(kept)


async def _ask(
    runner: Runner, label: str, name: str, viewer: Viewer, cases: list[tuple[int, Case]], services: Services
) -> Tally:
    """B's requests after A's, with the cache on, each compared with B's answer with the cache off."""
    tally = Tally(kept=len(cases))

    async def ask(index: int, case: Case) -> None:
        result = await runner.execute(viewer, case, services)
        hit = isinstance(result.data, orjson.Fragment)
        assert hit is (cache_report(result).get("hit") is True), "a hit is the stored JSON, spliced in"
        if not hit:
            return  # executed for B like any request without a cache: B's own answer
        tally.hits += 1
        got = cached_answer(result, case)
        want = await runner.fresh(name, viewer, index, case)
        if same(want, got) is not None:
            return
        # Leaves two fresh runs disagree on (the clock) are no cache's doing: masked on both sides.
        again = answer(await runner.execute(viewer, case, Services()), case)
        paths = unstable_paths(want.data, again.data)
        if paths and same(masked(want, paths), masked(got, paths)) is not None:
            tally.unstable += 1
            return
        tally.leaks.append(Mismatch(case, want, got, label))

    await _each(cases, ask)
    return tally


@pytest.fixture(scope="module")
def cases(seeded: Seeded) -> list[Case]:
    return cases_of(seeded)


def _cache(
    runner: Runner, redis_client: aioredis.Redis, prefix: str, kind: type[ResponseCache] = ResponseCache
) -> Services:
    """Services with a response cache of `kind` under its own prefix (no entry outlives the test)."""
    made = response_cache_for(
        api._schema, runner.settings.model_copy(update={"redis_key_prefix": prefix}), redis_client
    )
    assert made is not None
    cache = kind(
        api._schema, made.store, max_age_cap_s=made.max_age_cap_s, max_entry_bytes=made.max_entry_bytes
    )
    return Services(responses=cache)


async def _pairs(
    runner: Runner,
    seeded: Seeded,
    cases: list[Case],
    fillers: dict[str, list[str]],
    make: Callable[[int], Services],
) -> dict[tuple[str, str], Tally]:
    tallies: dict[tuple[str, str], Tally] = {}
    for n, (a, askers) in enumerate(fillers.items()):
        # A namespace of A's own: every entry in it was made by A, or by a viewer asking after A (each
        # of whom the pairs place in a scope of its own, so no asker meets another's entries).
        services = make(n)
        kept = await _fill(runner, seeded.viewers[a], cases, services)
        # Cases A's answer was not kept for leave nothing of A's for B to meet: B would answer itself.
        asked = [(i, cases[i]) for i in kept]
        for b in askers:
            label = f"{a} filled, {b} asked"
            tallies[(a, b)] = await _ask(runner, label, b, seeded.viewers[b], asked, services)
    return tallies


async def test_no_cached_answer_reaches_a_viewer_who_may_not_see_it(
    seeded: Seeded,
    runner: Runner,
    cases: list[Case],
    redis_client: aioredis.Redis,
    redis_prefix: str,
) -> None:
    started = time.perf_counter()

    tallies = await _pairs(
        runner, seeded, cases, _askers(), lambda n: _cache(runner, redis_client, f"{redis_prefix}{n}:")
    )

    print(f"\n{len(cases)} cases that may be kept, {time.perf_counter() - started:.1f}s")
    for (a, b), tally in tallies.items():
        print(tally.line(f"{a} -> {b}"))
    leaks = [m for t in tallies.values() for m in t.leaks]
    assert not leaks, f"{len(leaks)} answers differ from the cache-off answer; the first:\n{leaks[0]}"
    for first, second, shares in PAIRS:
        for a, b in ((first, second), (second, first)):
            tally = tallies[(a, b)]
            if shares:
                assert tally.hits >= MIN_SHARED_HITS, f"{a} -> {b}: only {tally.hits} hits"
            else:
                assert tally.kept >= MIN_KEPT, f"{a} -> {b}: only {tally.kept} of A's answers kept"
                assert tally.hits == 0, f"{a} -> {b} share entries: {tally.hits} hits"


class ViewerBlindCache(ResponseCache):
    """A deliberately broken cache: one key per operation, whoever asks."""

    def key(self, *, query: str, operation_name: str | None, variables: dict | None, **_: Any) -> str:
        return entry_key(query, operation_name, variables, "everyone")


async def test_a_cache_that_ignores_the_viewer_fails_the_comparison(
    seeded: Seeded,
    runner: Runner,
    cases: list[Case],
    redis_client: aioredis.Redis,
    redis_prefix: str,
) -> None:
    """The proof can fail: keyed without the viewer, a merchant's answers reach another merchant, and
    the comparison says which, with a diff."""
    tallies = await _pairs(
        runner,
        seeded,
        cases,
        {"merchant": ["merchant2"]},
        lambda n: _cache(runner, redis_client, f"{redis_prefix}{n}:", ViewerBlindCache),
    )

    tally = tallies[("merchant", "merchant2")]
    print(f"\n{tally.line('merchant -> merchant2 (blind)')}")
    assert tally.hits == tally.kept
    assert len(tally.leaks) >= MIN_CAUGHT
    text = str(tally.leaks[0])
    assert "merchant filled, merchant2 asked" in text and "--- diff" in text
