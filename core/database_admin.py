"""Creating and dropping whole databases on a server (test templates, scratch databases)."""

from __future__ import annotations

import asyncpg
from sqlalchemy.engine import make_url


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(_dsn(url))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def create_database(server_url: str, name: str, *, template: str | None = None) -> None:
    """CREATE DATABASE name [TEMPLATE template], dropping a leftover of the same name first."""
    conn = await _admin(server_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")
        suffix = f" TEMPLATE {_ident(template)}" if template else ""
        await conn.execute(f"CREATE DATABASE {_ident(name)}{suffix}")
    finally:
        await conn.close()


async def drop_database(server_url: str, name: str) -> None:
    conn = await _admin(server_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")
    finally:
        await conn.close()


async def database_exists(server_url: str, name: str) -> bool:
    conn = await _admin(server_url)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


async def list_databases(server_url: str, prefix: str) -> list[str]:
    """Names of the databases starting with `prefix`."""
    conn = await _admin(server_url)
    try:
        rows = await conn.fetch("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
        return [r["datname"] for r in rows]
    finally:
        await conn.close()
