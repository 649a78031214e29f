"""Least-privilege database roles (the seed audit's backend and analytics users).

- the server's role reads and writes rows but owns nothing and cannot change the schema (no DDL);
- the analytics role only reads (reporting tools, notebooks);
- migrations and the seed keep running as the owner (the role in DATABASE_URL when this runs).

Idempotent: roles are created when missing, then (re)granted, so running it after new migrations
also covers tables created since (default privileges cover tables the owner creates later).
"""

from __future__ import annotations

import asyncpg
from sqlalchemy.engine import make_url

APP_GRANTS = (
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
    # Identity columns draw from sequences.
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
)
ANALYTICS_GRANTS = (
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role}",
)


async def _ensure_role(conn: asyncpg.Connection, role: str, password: str | None, database: str) -> str:
    quoted = await conn.fetchval("SELECT quote_ident($1)", role)
    if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
        await conn.execute(f"CREATE ROLE {quoted} LOGIN")
    await conn.execute(f"ALTER ROLE {quoted} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION")
    if password:
        # Utility statements take no bind parameters: let PostgreSQL quote the literal itself.
        await conn.execute(
            await conn.fetchval("SELECT format('ALTER ROLE %I PASSWORD %L', $1, $2)", role, password)
        )
    await conn.execute(
        f"GRANT CONNECT ON DATABASE {await conn.fetchval('SELECT quote_ident($1)', database)} TO {quoted}"
    )
    return str(quoted)


async def create_db_roles(
    database_url: str,
    *,
    app_role: str,
    analytics_role: str,
    app_password: str | None = None,
    analytics_password: str | None = None,
) -> None:
    """Create or update the two roles on the database of `database_url` (connected as its owner)."""
    url = make_url(database_url)
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        async with conn.transaction():
            database = url.database or "postgres"
            app = await _ensure_role(conn, app_role, app_password, database)
            analytics = await _ensure_role(conn, analytics_role, analytics_password, database)
            for grant in APP_GRANTS:
                await conn.execute(grant.format(role=app))
            for grant in ANALYTICS_GRANTS:
                await conn.execute(grant.format(role=analytics))
    finally:
        await conn.close()
