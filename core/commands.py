"""What the command line's commands share (the embedded servers a command needs, one committed
transaction) and the commands on the database itself: `migrate` and `create-db-roles`.

The commands that need the application (serve, seed, token, export-schema, ...) are in server.py.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core import migrate
from core.database import create_engine, create_sessionmaker
from core.dbroles import create_db_roles
from core.embedded import EmbeddedServices, start_embedded
from core.settings import Settings, get_settings
from core.urls import redact


@contextmanager
def services(settings: Settings, *, need_redis: bool) -> Iterator[Settings]:
    """Start the embedded servers that the settings leave unconfigured; stop them on exit."""
    embedded: EmbeddedServices | None = None
    if not settings.database_url or (need_redis and not settings.redis_url):
        embedded = start_embedded(
            data_dir=settings.data_dir,
            database_name=settings.embedded_database_name,
            need_postgres=not settings.database_url,
            need_redis=need_redis and not settings.redis_url,
        )
    try:
        # Re-read: start_embedded exported the URLs into the environment, for workers to inherit too.
        get_settings.cache_clear()
        yield get_settings()
    finally:
        if embedded is not None:
            embedded.stop()


def describe_services(settings: Settings, started: list[str]) -> None:
    """Print where PostgreSQL and Redis are, and whether this process started them."""

    def origin(name: str) -> str:
        return "embedded" if name in started else "external"

    print(f"PostgreSQL ({origin('postgresql')}): {redact(settings.database_url or '')}", flush=True)
    print(f"Redis ({origin('redis')}): {redact(settings.redis_url or '')}", flush=True)


def run_job(job: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """Run `job(session)` in one committed transaction against the configured (or embedded) database."""

    async def run(settings: Settings) -> Any:
        engine = create_engine(settings.database_url or "", settings, pool_size=1)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await job(session)
        finally:
            await engine.dispose()

    with services(get_settings(), need_redis=False) as settings:
        return asyncio.run(run(settings))


def cmd_migrate(args: argparse.Namespace) -> int:
    with services(get_settings(), need_redis=False) as settings:
        if args.revision.startswith("-") or args.downgrade:
            migrate.downgrade(settings.database_url or "", args.revision)
        else:
            migrate.upgrade(settings.database_url or "", args.revision)
        print(f"Migrated {redact(settings.database_url or '')} to {args.revision}")
    return 0


def cmd_create_db_roles(args: argparse.Namespace) -> int:
    with services(get_settings(), need_redis=False) as settings:
        migrate.upgrade(settings.database_url or "")
        asyncio.run(
            create_db_roles(
                settings.database_url or "",
                app_role=args.app_role,
                analytics_role=args.analytics_role,
                app_password=settings.db_app_password,
                analytics_password=settings.db_analytics_password,
            )
        )
    print(f"Roles ready: {args.app_role} (read-write, no DDL), {args.analytics_role} (read-only)")
    return 0
