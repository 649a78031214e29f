"""The one database state the whole comparison reads: the demo seed, made read-only, and what the corpus
needs from it (the viewer of each role, real primary keys per node type, words that match real rows).

Both executors read the same committed state through a real pool, one request context per execution.
The database refuses every write (`default_transaction_read_only`): a query that wrote would change
what the other executor sees, so it fails loudly instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field

import asyncpg
from sqlalchemy.engine import make_url

import seed
from core import database_admin as databases
from core import migrate
from core.urls import with_database
from core.viewer import ANONYMOUS, Role, Viewer

# Every Relay node type and its table.
NODE_TABLES = {
    "Account": "accounts",
    "Campaign": "campaigns",
    "CampaignOptimization": "campaign_optimizations",
    "Experiment": "ab_tests",
    "FeatureFlag": "feature_flags",
    "FlagAuditEntry": "feature_flag_audit_log",
    "Merchant": "merchants",
    "MerchantCategory": "merchant_categories",
    "MlModel": "ml_models",
    "RewardEntry": "rewards_ledger",
    "Transaction": "transactions",
    "User": "users",
}
# The seed's staff accounts (seed/people.py), one per role that signs in.
STAFF_EMAILS = {
    Role.ADMIN: "admin@swipesavvy.dev",
    Role.MARKETER: "marketer@swipesavvy.dev",
    Role.ANALYST: "analyst@swipesavvy.dev",
    Role.MERCHANT: "merchant@swipesavvy.dev",
    Role.CUSTOMER: "customer@swipesavvy.dev",
}
ROLES = [role.value for role in Role]
# A deterministic spread of primary keys per table: the first few and every 53rd.
_SAMPLE = "SELECT id FROM {table} WHERE id <= 8 OR id % 53 = 0 ORDER BY id LIMIT 40"


@dataclass(frozen=True)
class World:
    viewers: dict[str, dict[str, int | None]]  # role -> Viewer fields
    ids: dict[str, list[int]]  # node type -> primary keys
    own: dict[str, dict[str, list[int]]]  # role -> node type -> keys of rows the viewer owns
    flag_keys: list[str]
    words: list[str]  # search terms that match names
    cities: list[str]
    segments: list[str]
    audit: dict[str, list[str]]  # "entity_type" / "action" -> values present
    places: list[tuple[float, float]]  # merchant coordinates
    today: str = field(compare=False)  # UTC day the seed is anchored at

    def viewer(self, role: str) -> Viewer:
        if role == Role.ANONYMOUS.value:
            return ANONYMOUS
        return Viewer(role=Role(role), **self.viewers.get(role, {}))  # type: ignore[arg-type]

    def fingerprint(self) -> str:
        """What a corpus generated against this state relies on (the ids it holds), dates left out."""
        facts = asdict(self)
        facts.pop("today")
        return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def seeded_database(server_url: str, name: str, *, template: str | None = None) -> str:
    """A new database `name` (cloned from `template`, or migrated), seeded at demo scale, read-only."""
    await databases.create_database(server_url, name, template=template)
    url = with_database(server_url, name)
    if template is None:
        migrate.upgrade(url)
    await seed.load(database_url=url, scale="demo", progress=False)
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    finally:
        await conn.close()
    return url


async def load_world(url: str) -> World:
    conn = await asyncpg.connect(_dsn(url))
    try:
        return await _world(conn)
    finally:
        await conn.close()


async def _column(conn: asyncpg.Connection, sql: str, *args: object) -> list:  # type: ignore[type-arg]
    return [row[0] for row in await conn.fetch(sql, *args)]


async def _world(conn: asyncpg.Connection) -> World:
    staff = dict(
        await conn.fetch(
            "SELECT email, id FROM users WHERE email = ANY($1::text[])", list(STAFF_EMAILS.values())
        )
    )
    merchant_of = await conn.fetchval(
        "SELECT merchant_id FROM users WHERE email = $1", STAFF_EMAILS[Role.MERCHANT]
    )
    viewers: dict[str, dict[str, int | None]] = {
        role.value: {"user_id": staff[email]} for role, email in STAFF_EMAILS.items()
    }
    viewers[Role.MERCHANT.value]["merchant_id"] = merchant_of
    viewers[Role.SERVICE.value] = {}
    ids = {name: await _column(conn, _SAMPLE.format(table=table)) for name, table in NODE_TABLES.items()}
    customer = staff[STAFF_EMAILS[Role.CUSTOMER]]
    own = {
        Role.CUSTOMER.value: {
            "User": [customer],
            "Account": await _column(
                conn, "SELECT id FROM accounts WHERE user_id = $1 ORDER BY id", customer
            ),
            "Transaction": await _column(
                conn, "SELECT id FROM transactions WHERE user_id = $1 ORDER BY id LIMIT 20", customer
            ),
            "RewardEntry": await _column(
                conn, "SELECT id FROM rewards_ledger WHERE user_id = $1 ORDER BY id LIMIT 20", customer
            ),
        },
        Role.MERCHANT.value: {
            "User": [staff[STAFF_EMAILS[Role.MERCHANT]]],
            "Merchant": [merchant_of],
            "Campaign": await _column(
                conn, "SELECT id FROM campaigns WHERE merchant_id = $1 ORDER BY id LIMIT 20", merchant_of
            ),
        },
    }
    for role in (Role.ADMIN, Role.MARKETER, Role.ANALYST):
        own[role.value] = {"User": [staff[STAFF_EMAILS[role]]]}
    words = await _column(
        conn,
        "SELECT DISTINCT split_part(name, ' ', 1) AS w FROM"
        " (SELECT name FROM campaigns UNION ALL (SELECT name FROM merchants ORDER BY id LIMIT 60)"
        "  UNION ALL (SELECT name FROM users ORDER BY id LIMIT 30)) n"
        " WHERE length(split_part(name, ' ', 1)) >= 3 ORDER BY w LIMIT 60",
    )
    return World(
        viewers=viewers,
        ids=ids,
        own=own,
        flag_keys=await _column(conn, "SELECT key FROM feature_flags ORDER BY key"),
        words=words,
        cities=await _column(
            conn, "SELECT DISTINCT city FROM merchants WHERE city IS NOT NULL ORDER BY city LIMIT 20"
        ),
        segments=await _column(
            conn, "SELECT DISTINCT segment_name FROM campaign_analytics_segments ORDER BY 1 LIMIT 20"
        ),
        audit={
            "entity_type": await _column(conn, "SELECT DISTINCT entity_type FROM audit_log ORDER BY 1"),
            "action": await _column(conn, "SELECT DISTINCT action FROM audit_log ORDER BY 1 LIMIT 30"),
        },
        places=[
            (float(a), float(b))
            for a, b in await conn.fetch(
                "SELECT latitude, longitude FROM merchants WHERE id <= 8 OR id % 97 = 0 ORDER BY id"
            )
        ],
        today=str(dt.datetime.now(dt.UTC).date()),
    )
