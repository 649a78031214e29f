"""What the slice in `make test` and the full bench run share: the pool over the seeded state, and the
order of the comparison (documents of tests/ and the README, the generated corpus, injected errors)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from tests.differential import corpus as generated
from tests.differential.compare import Case, Comparison
from tests.differential.executors import executors
from tests.differential.world import World

POOL_SIZE = 16


def comparison_settings(url: str, **overrides: object) -> Settings:
    """The defaults, but nothing that depends on timing: no caller waits for a pool slot long enough
    to be refused, and no statement times out, on either side (a machine busy with other work would
    otherwise make one executor's answer differ from the other's)."""
    values: dict[str, object] = {
        "database_url": url,
        "db_pool_size": POOL_SIZE,
        "db_max_overflow": POOL_SIZE,
        "db_pool_timeout_s": 120.0,
        "db_connections_per_caller": 2 * POOL_SIZE,
        "db_connections_anonymous": 2 * POOL_SIZE,
        "db_connection_wait_s": 120.0,
        "db_statement_timeout_ms": 0,
        "db_anonymous_statement_timeout_ms": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def comparing(url: str, world: World, *, concurrency: int = 6) -> AsyncIterator[Comparison]:
    settings = comparison_settings(url)
    engine = create_engine(url, settings, pool_size=POOL_SIZE)
    try:
        yield Comparison(executors(), world, settings, create_sessionmaker(engine), concurrency=concurrency)
    finally:
        await engine.dispose()


def corpus_cases(path: Path, world: World, per_role: int | None = None) -> tuple[list[Case], str | None]:
    """The corpus's cases (the first `per_role` of each role), and a warning when it was generated
    against another state than this one (its ids may then point at other rows)."""
    loaded = generated.load(path, world.today)
    taken: dict[str, int] = {}
    cases = []
    for item in loaded["cases"]:
        n = taken.get(item["role"], 0)
        if per_role is None or n < per_role:
            cases.append(Case.of(item))
            taken[item["role"]] = n + 1
    warning = None
    if loaded["world"] != world.fingerprint():
        warning = (
            f"{path.name} was generated against state {loaded['world']}, this is {world.fingerprint()}:"
            " regenerate it (python -m bench.differential --regenerate)"
        )
    return cases, warning
