"""Fixtures of the limits tests that need real concurrency: requests on a real pool over a scratch
database, each with its own context, with the settings the test chooses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from core.context import RequestContext
from core.database import create_engine, create_sessionmaker
from core.settings import Settings, get_settings
from core.viewer import ANONYMOUS, Viewer
from schema import schema

POOL_SIZE, OVERFLOW = 20, 40


@pytest.fixture
async def pooled(scratch_db_url: str, settings: Settings) -> AsyncIterator[SimpleNamespace]:
    """`execute(document, variables, viewer=..., client_ip=..., settings=...)`: one request each, so
    `asyncio.gather` runs them in parallel on separate pooled connections; `sessionmaker` commits
    (to create rows); `engine` is the pool the requests use."""
    engine = create_engine(
        scratch_db_url, settings.model_copy(update={"db_max_overflow": OVERFLOW}), pool_size=POOL_SIZE
    )
    sessionmaker = create_sessionmaker(engine)

    async def execute(
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        viewer: Viewer = ANONYMOUS,
        client_ip: str = "192.0.2.1",
        settings: Settings = settings,
    ) -> Any:
        context = RequestContext(
            request=None,
            settings=settings,
            sessionmaker=sessionmaker,
            write_sessionmaker=sessionmaker,
            redis=None,
            viewer=viewer,
            request_id=uuid.uuid4().hex,
            client_ip=client_ip,
        )
        return await schema.execute(document, variable_values=variables, context_value=context)

    try:
        yield SimpleNamespace(execute=execute, sessionmaker=sessionmaker, engine=engine, url=scratch_db_url)
    finally:
        await engine.dispose()


@pytest.fixture
def process_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set environment variables read by the process-wide settings (core.settings.get_settings):
    `process_settings(NAME=value, ...)`; the settings are read again, and once more afterwards."""

    def apply(**variables: str) -> Settings:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return get_settings()

    yield apply
    get_settings.cache_clear()
