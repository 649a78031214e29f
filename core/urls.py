"""Database and Redis URLs: driver selection and password-free display."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def async_database_url(url: str) -> URL:
    """Return `url` with the asyncpg driver, whatever spelling the user gave."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


def with_database(url: str, database: str) -> str:
    """Return `url` pointing at another database on the same server."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def database_identity(url: str | None) -> str:
    """Which database a URL names (host, port and name, no credentials): what data caches stand for."""
    if not url:
        return ""
    parsed = make_url(url)
    return f"{parsed.host or ''}:{parsed.port or ''}/{parsed.database or ''}"


def redact(url: str) -> str:
    """Return `url` with any password replaced, for logs and the console."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        scheme, _, rest = url.partition("://")
        if "@" in rest:
            creds, _, host = rest.rpartition("@")
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}:***@{host}" if user else f"{scheme}://***@{host}"
        return url
    return make_url(url).render_as_string(hide_password=True)
