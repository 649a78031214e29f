"""The job engine (procrastinate, jobs in PostgreSQL): the App built from Settings, deferring a job
inside a write's own transaction, retries with backoff and jitter, what a failed attempt records, and
the periodic schedules. The tasks themselves live in the top-level `jobs/` package, which may call
resolvers; nothing here imports them."""
