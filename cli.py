"""The command line of `python server.py` (serve, migrate, seed, token, maintenance jobs, the SDL).

Part of the top layer with server.py, which runs it; it names the app only as uvicorn's import string
("server:create_app"), so nothing imports server.py.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime, timedelta

from core import metrics_dir, migrate
from core.commands import cmd_create_db_roles, cmd_migrate, describe_services, run_job, services
from core.database import create_engine
from core.logging import configure_logging
from core.serving import StopSignals, run_server
from core.settings import Settings, get_settings
from core.tokens import mint_access_token, signing_secret
from core.urls import redact
from core.viewer import Role
from jobs.process import worker_beside_server
from schema import schema
from transport.trusted_documents import ManifestError, load_trusted_documents

LAYERS = """\
layers: server -> transport -> schema -> resolvers -> loaders -> models, core below all
(imports point down the list, never up; no SQL above resolvers/; tests/test_layers.py checks both)
  server.py   create_app (routes, middleware, a lifespan yielding typed state); cli.py this command line
  transport/  the wire: GraphQL over HTTP (media types, batches), the viewer, headers, health checks
  schema/     Strawberry types, root fields and mutations, one package per domain; Relay pieces,
              permissions, the mutation runner, the extensions every request runs through
  resolvers/  business rules, one package per domain: reads, writes, validation, pure maths
  loaders/    DataLoaders, one module per domain: one SQL statement per batch of keys
  models/     SQLAlchemy typed models, one module per domain: the tables
  core/       used by all: settings, database, Redis, viewer and role sets, context, errors, logging,
              the job engine (core/jobs/: procrastinate's App, deferring in a write's transaction)
  jobs/       background tasks (may call resolvers; nothing below imports them); `server.py worker`
domains: users campaigns flags experiments analytics merchants ml admin auth (ARCHITECTURE.md)
"""


async def _seed_if_empty(settings: Settings) -> None:
    import seed

    try:
        report = await seed.load(database_url=settings.database_url or "", scale="demo", progress=True)
        print(f"Loaded demo data in {report.seconds:.1f}s", flush=True)
    except seed.SeedRefused:
        pass


def cmd_serve(args: argparse.Namespace) -> int:
    base = get_settings()
    if base.trusted_documents:
        # Checked once here, before any worker starts: a worker failing on it would be restarted.
        try:
            load_trusted_documents(base.trusted_documents)
        except ManifestError as exc:
            print(f"serve: {exc}", file=sys.stderr)
            return 1
    started = [
        n for n, unset in (("postgresql", not base.database_url), ("redis", not base.redis_url)) if unset
    ]
    with services(base, need_redis=True) as settings:
        describe_services(settings, started)
        metrics_dir.wipe(metrics_dir.DIRECTORY)  # before any worker: no sample of an earlier run counts
        migrate.upgrade(settings.database_url or "")
        if settings.seed_demo_on_start and not args.no_seed:
            asyncio.run(_seed_if_empty(settings))
        host, port = args.host or settings.host, args.port or settings.port
        workers = args.workers or settings.workers
        print(f"GraphiQL: http://{host}:{port}/graphql  ({workers} worker(s); Ctrl-C stops)", flush=True)
        # Stop signals are counted and passed on from here to the end, the job worker's stop included.
        with StopSignals().installed() as signals, worker_beside_server(settings) as job_worker:
            if job_worker is not None:
                # It drains beside the server, from the first signal on, instead of after it.
                signals.listeners.append(job_worker.pass_on)
                print(
                    f"Job worker: process {job_worker.pid} (JOB_WORKER_IN_SERVER=false runs none)", flush=True
                )
            run_server(
                settings,
                host=host,
                port=port,
                workers=workers,
                signals=signals,
                # A dead or stopped worker's live gauges stop counting on /metrics.
                on_worker_exit=metrics_dir.forget_process,
            )
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    import seed

    with services(get_settings(), need_redis=False) as settings:
        migrate.upgrade(settings.database_url or "")
        try:
            report = asyncio.run(
                seed.load(database_url=settings.database_url or "", scale=args.scale, progress=not args.quiet)
            )
        except seed.SeedRefused as exc:
            print(f"seed: {exc}", file=sys.stderr)
            return 1
        total = sum(report.rows.values())
        print(f"Seeded {args.scale}: {total:,} rows in {report.seconds:.1f}s")
    return 0


async def _token_for(settings: Settings, *, email: str | None, role: Role, minutes: int) -> str:
    from sqlalchemy import func, select

    from models.users import User

    user_id = merchant_id = None
    if role is not Role.SERVICE:
        if not email:
            raise SystemExit(f"token: --email is required for role {role.value}")
        engine = create_engine(settings.database_url or "", settings, pool_size=1)
        try:
            async with engine.connect() as conn:
                row = (
                    await conn.execute(
                        select(User.id, User.merchant_id).where(func.lower(User.email) == email.lower())
                    )
                ).first()
        finally:
            await engine.dispose()
        if row is None:
            raise SystemExit(f"token: no user with email {email}")
        user_id, merchant_id = row
        if role is Role.MERCHANT and merchant_id is None:
            raise SystemExit("token: a merchant token needs a user who is merchant staff")
    return mint_access_token(
        secret=signing_secret(settings),
        user_id=user_id,
        role=role,
        merchant_id=merchant_id if role is Role.MERCHANT else None,
        ttl=timedelta(minutes=minutes),
    )


def cmd_token(args: argparse.Namespace) -> int:
    with services(get_settings(), need_redis=False) as settings:
        token = asyncio.run(
            _token_for(settings, email=args.email, role=Role(args.role), minutes=args.minutes)
        )
    print(token)
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    from resolvers.admin.retention import prune

    counts = run_job(lambda session: prune(session, now=datetime.now(UTC)))
    for table, deleted in counts.items():
        print(f"{table}: {deleted} deleted")
    return 0


def cmd_rollup_flag_usage(args: argparse.Namespace) -> int:
    from resolvers.flags.usage_writes import rollup_flag_usage, yesterday_utc

    day = args.date or yesterday_utc()
    changed = run_job(lambda session: rollup_flag_usage(session, day=day))
    print(f"feature_flag_analytics for {day}: {changed} row(s) written")
    return 0


def cmd_recompute_results(args: argparse.Namespace) -> int:
    from resolvers.experiments.recompute import UnknownExperiments, recompute_results

    try:
        done = run_job(lambda session: recompute_results(session, experiment_keys=args.experiment or None))
    except UnknownExperiments as exc:
        print(f"recompute-results: {exc}", file=sys.stderr)
        return 1
    print(f"results stored for {done} experiment(s)")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from jobs.worker import EngineSchemaMissing, run_worker

    with services(get_settings(), need_redis=False) as settings:
        if args.concurrency:
            settings = settings.model_copy(update={"job_concurrency": args.concurrency})
        if args.queue:
            settings = settings.model_copy(update={"job_queues": ",".join(args.queue)})
        print(f"Job worker on {redact(settings.database_url or '')} (SIGTERM or Ctrl-C stops)", flush=True)
        try:
            asyncio.run(run_worker(settings))
        except EngineSchemaMissing as exc:
            print(f"worker: {exc}", file=sys.stderr)
            return 1
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    sdl = schema.as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(sdl)
        print(f"Wrote {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="server.py",
        description="SwipeSavvy GraphQL API",
        epilog=LAYERS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the API (GraphiQL at /graphql)")
    serve.add_argument("--host", help="bind address (default: HOST)")
    serve.add_argument("--port", type=int, help="port (default: PORT)")
    serve.add_argument("--workers", type=int, help="uvicorn worker processes (default: WORKERS)")
    serve.add_argument("--no-seed", action="store_true", help="do not load demo data into an empty database")
    serve.set_defaults(func=cmd_serve)

    wk = commands.add_parser("worker", help="run a background-job worker (any number, on any machine)")
    wk.add_argument("--concurrency", type=int, help="jobs run at once (default: JOB_CONCURRENCY)")
    wk.add_argument(
        "--queue",
        action="append",
        metavar="NAME",
        help="a queue to take jobs from (repeatable; default: all)",
    )
    wk.set_defaults(func=cmd_worker)

    mig = commands.add_parser("migrate", help="apply database migrations")
    mig.add_argument("revision", nargs="?", default="head", help="target revision (default: head)")
    mig.add_argument("--downgrade", action="store_true", help="go down to REVISION (e.g. base)")
    mig.set_defaults(func=cmd_migrate)

    sd = commands.add_parser("seed", help="load deterministic demo or benchmark data into an empty database")
    sd.add_argument("--scale", choices=["demo", "bench"], default="demo")
    sd.add_argument("--quiet", action="store_true", help="no progress bars")
    sd.set_defaults(func=cmd_seed)

    tok = commands.add_parser("token", help="mint a development access token (paste into GraphiQL's headers)")
    tok.add_argument("--email", help="the user the token is for (not needed for --role service)")
    roles = [r.value for r in Role if r is not Role.ANONYMOUS]
    tok.add_argument("--role", choices=roles, required=True, help="role the token grants")
    tok.add_argument("--minutes", type=int, default=12 * 60, help="lifetime (default: 720)")
    tok.set_defaults(func=cmd_token)

    prune = commands.add_parser(
        "prune", help="apply retention: old flag usage and audit rows, expired keys and tokens"
    )
    prune.set_defaults(func=cmd_prune)

    rollup = commands.add_parser(
        "rollup-flag-usage", help="aggregate one UTC day of flag checks (idempotent)"
    )
    rollup.add_argument("--date", type=date.fromisoformat, help="YYYY-MM-DD (default: yesterday, UTC)")
    rollup.set_defaults(func=cmd_rollup_flag_usage)

    recompute = commands.add_parser(
        "recompute-results", help="store experiments' live results in ab_test_results"
    )
    recompute.add_argument(
        "--experiment",
        action="append",
        metavar="KEY",
        help="an experiment key (repeatable; default: running and paused)",
    )
    recompute.set_defaults(func=cmd_recompute_results)

    roles = commands.add_parser(
        "create-db-roles", help="create the least-privilege server and analytics roles"
    )
    roles.add_argument("--app-role", default="swipesavvy_app", help="read-write role the server connects as")
    roles.add_argument("--analytics-role", default="swipesavvy_analytics", help="read-only reporting role")
    roles.set_defaults(func=cmd_create_db_roles)

    exp = commands.add_parser("export-schema", help="write the SDL (committed as schema.graphql)")
    exp.add_argument("--output", default="schema.graphql", help="file to write, or - for stdout")
    exp.set_defaults(func=cmd_export_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(get_settings())
    return int(args.func(args))
