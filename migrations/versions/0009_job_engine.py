"""job engine: procrastinate's schema (jobs, workers, periodic defers, events and their functions) for
the pinned version, and job_errors, the code and one-line summary of each job's last failed attempt

The SQL is the package's own (`procrastinate.schema.SchemaManager.get_schema()`), never a copy, so
this migration and the library agree as long as pyproject.toml pins the version. Upgrading
procrastinate means a new migration applying the files of `procrastinate/sql/migrations/` between
the two versions, in order.

Roles: the functions run as their caller (none is SECURITY DEFINER) and PostgreSQL grants EXECUTE on
functions and USAGE on types to PUBLIC, so the app role needs only rows and sequences, which
`create-db-roles` grants on every table (default privileges cover tables created after it ran).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_ERRORS = """
CREATE TABLE job_errors (
    job_id bigint NOT NULL,
    code text NOT NULL,
    summary text NOT NULL,
    attempt integer NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_job_errors PRIMARY KEY (job_id),
    CONSTRAINT fk_job_errors_job_id_procrastinate_jobs FOREIGN KEY (job_id)
        REFERENCES procrastinate_jobs (id) ON DELETE CASCADE,
    CONSTRAINT ck_job_errors_summary_one_line CHECK (summary !~ '[\\r\\n]' AND length(summary) <= 200)
)
"""

# Everything the package's schema creates is named procrastinate_*; dropped by name, so the downgrade
# needs no list that could fall behind the pinned version.
DROP_ENGINE = r"""
DO $$
DECLARE
    object record;
BEGIN
    FOR object IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname LIKE 'procrastinate\_%'
    LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', object.relname);
    END LOOP;
    FOR object IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                  JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\_%'
    LOOP
        EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', object.signature);
    END LOOP;
    FOR object IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                  WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\_%'
                    AND t.typtype IN ('e', 'c') AND NOT EXISTS (
                        SELECT 1 FROM pg_class c WHERE c.reltype = t.oid AND c.relkind <> 'c')
    LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', object.typname);
    END LOOP;
END
$$
"""


def _execute_script(sql: str) -> None:
    # Several statements with dollar-quoted bodies: asyncpg runs them in one simple-protocol call,
    # which a prepared statement (what op.execute uses) cannot. The SELECT first makes SQLAlchemy open
    # the migration's transaction, so the script runs inside it and rolls back with it.
    op.execute("SELECT 1")
    op.get_bind().connection.dbapi_connection.run_async(lambda conn: conn.execute(sql))


def upgrade() -> None:
    _execute_script(SchemaManager.get_schema())
    op.execute(JOB_ERRORS)


def downgrade() -> None:
    op.execute("DROP TABLE job_errors")
    _execute_script(DROP_ENGINE)
