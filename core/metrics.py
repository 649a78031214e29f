"""The Prometheus metrics of every process (prometheus-client, multiprocess mode: N uvicorn workers
and the job worker report as one), and the small helpers the layers call to record them.

Multiprocess mode's rules shape this module: no custom collectors and no callback gauges (a gauge's
value is written when something happens: a checkout, a connection, a transition), every gauge says
how the processes' values add up (`multiprocess_mode`: "livesum" for what each live process holds,
"livemin" for availability, "mostrecent" for a count one job worker observed), and every label value
comes from a closed set (operation names through core/metrics_labels.py), so no client can add series.
Counters count hits and misses separately: a ratio is the dashboard's division, never a stored number.
"""

# core.metrics_dir sets PROMETHEUS_MULTIPROC_DIR, which prometheus-client reads when first imported.
from core.metrics_dir import DIRECTORY  # isort: skip  # noqa: I001

from prometheus_client import Counter, Gauge, Histogram

__all__ = ["DIRECTORY"]

# Seconds: from a cache hit (~1 ms) to the request timeout's order (15 s).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)
STATEMENT_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89)

OPERATION_DURATION = Histogram(
    "graphql_operation_duration_seconds",
    "Time to answer one GraphQL operation (a batch's members each count), by operation and type.",
    ["operation", "type"],
    buckets=LATENCY_BUCKETS,
)
ERRORS = Counter("graphql_errors", "Errors in GraphQL responses, by code (core/errors.py).", ["code"])
SQL_STATEMENTS = Histogram(
    "graphql_sql_statements",
    "SQL statements one operation ran.",
    ["operation", "type"],
    buckets=STATEMENT_BUCKETS,
)
SQL_DURATION = Histogram(
    "graphql_sql_duration_seconds",
    "Time one operation spent in SQL statements.",
    ["operation", "type"],
    buckets=LATENCY_BUCKETS,
)

POOL_IN_USE = Gauge(
    "db_pool_connections_in_use",
    "Pooled connections checked out, per pool.",
    ["pool"],
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "db_pool_overflow_connections",
    "Connections open past DB_POOL_SIZE (closed when given back), per pool.",
    ["pool"],
    multiprocess_mode="livesum",
)
POOL_WAITING = Gauge(
    "db_pool_waiting_requests",
    "Requests waiting for their caller's share of the pool (core/pool_shares.py), the gate in front of it.",
    multiprocess_mode="livesum",
)

CACHE_LOOKUPS = Counter(
    "cache_lookups",
    "Lookups of the response cache, the flag snapshot and persisted queries, by result (hit or miss).",
    ["cache", "result"],
)
APQ_REGISTRATIONS = Counter(
    "apq_registrations",
    "Documents sent for an automatic persisted query, by what the store did (stored, known, "
    "over_cap, failed).",
    ["outcome"],
)
RATE_LIMIT_REFUSALS = Counter(
    "rate_limit_refusals",
    "Requests refused by a limiter: cost (the token bucket), pool_share (too many at once).",
    ["limiter"],
)
REDIS_ERRORS = Counter(
    "redis_errors", "Redis calls that failed, by the component that made them.", ["component"]
)
REDIS_AVAILABLE = Gauge(
    "redis_available",
    "1 while every live worker hears the change feed on Redis, 0 once one has lost it.",
    ["client"],
    multiprocess_mode="livemin",
)

WEBSOCKET_CONNECTIONS = Gauge(
    "websocket_connections",
    "Open GraphQL WebSocket connections, by protocol.",
    ["protocol"],
    multiprocess_mode="livesum",
)
WEBSOCKET_SUBSCRIPTIONS = Gauge(
    "websocket_subscriptions",
    "Running subscriptions, by protocol.",
    ["protocol"],
    multiprocess_mode="livesum",
)

JOB_QUEUE_DEPTH = Gauge(
    "job_queue_depth",
    "Jobs waiting (todo) per queue, as a job worker last counted them.",
    ["queue"],
    multiprocess_mode="mostrecent",
)
JOB_FAILURES = Counter("job_failures", "Failed job attempts, by task and code.", ["task", "code"])
DELIVERIES = Counter(
    "notification_deliveries",
    "Notification sends, by provider and outcome (sent, retry, rejected).",
    ["provider", "outcome"],
)
BREAKER_CIRCUITS = Gauge(
    "breaker_circuits",
    "Circuits of each breaker in each state (closed, opened, half-opened); one circuit per provider, "
    "per receiving host for webhooks.",
    ["breaker", "state"],
    multiprocess_mode="livesum",
)
