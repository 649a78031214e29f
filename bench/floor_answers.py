"""The floor's answers: the `data` of each bench document, assembled by hand from the rows of
bench/floor_sql.py, byte for byte what the server prints (keys in selection order, global ids as
base64 "Type:id", Decimals as strings, instants ISO with +00:00, enums by name).

The rules of flag evaluation are the server's own pure functions (resolvers/flags/evaluation.py): they
are the work apart from GraphQL. Everything else here is written again, on purpose.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections import defaultdict
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from bench import floor_sql as sql
from core.viewer import Viewer
from resolvers.flags.evaluation import (
    FlagConfig,
    RolloutConfig,
    evaluate_flag,
    stickiness_for,
    uses_context_user_id,
)

PAGE_SIZE = 50
RUNNING = ["running"]
CENT = Decimal("0.01")
MAX_RANGE_DAYS = 366


class Refused(Exception):
    """A request the floor answers with one coded error and no data (what the server would refuse)."""

    def __init__(self, message: str, code: str = "BAD_USER_INPUT") -> None:
        super().__init__(message)
        self.message, self.code = message, code


Answer = Callable[[asyncpg.Connection, Viewer, dict[str, Any]], Awaitable[dict[str, Any]]]


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def cursor(sort_value: Any, pk: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([sort_value, pk])).decode()


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _money(value: Decimal | None) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def _ratio(numerator: Any, denominator: Any) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


def _date_range(variables: dict[str, Any]) -> tuple[dt.date, dt.date]:
    try:
        given = variables["range"]
        start, end = dt.date.fromisoformat(given["start"]), dt.date.fromisoformat(given["end"])
    except (KeyError, TypeError, ValueError) as exc:
        raise Refused("Variable $range must be a DateRangeInput of two ISO dates.") from exc
    if start > end or (end - start).days + 1 > MAX_RANGE_DAYS:
        raise Refused("The range is empty or longer than a year.")
    return start, end


def _performance(sums: asyncpg.Record | None) -> dict[str, Any]:
    impressions, clicks, conversions = (int(sums[i] or 0) for i in (1, 2, 3)) if sums else (0, 0, 0)
    revenue, spend = (_money(sums[4]), _money(sums[5])) if sums else (_money(None), _money(None))
    return {
        "impressions": impressions,
        "clicks": clicks,
        "conversions": conversions,
        "revenue": str(revenue),
        "spend": str(spend),
        "clickThroughRate": _ratio(clicks, impressions),
        "conversionRate": _ratio(conversions, clicks),
        "roas": _ratio(revenue, spend),
        "roi": _ratio(revenue - spend, spend),
        "averageOrderValue": str((revenue / conversions).quantize(CENT)) if conversions else None,
    }


def _merchant(row: asyncpg.Record | None) -> dict[str, Any] | None:
    if row is None:
        return None
    category = None
    if row["category_id"] is not None:
        category = {"name": row["category_name"], "colorCode": row["color_code"]}
    return {"name": row["name"], "city": row["city"], "category": category}


async def campaigns_page(
    conn: asyncpg.Connection, viewer: Viewer, variables: dict[str, Any]
) -> dict[str, Any]:
    """README query 1: the page, its count, merchants, experiments, daily metrics and totals."""
    start, end = _date_range(variables)
    rows = await conn.fetch(sql.CAMPAIGN_PAGE, RUNNING, PAGE_SIZE + 1)
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    total = await conn.fetchval(sql.CAMPAIGN_COUNT, RUNNING)
    ids = [row["id"] for row in rows]
    merchant_ids = list(dict.fromkeys(row["merchant_id"] for row in rows if row["merchant_id"] is not None))
    merchants: dict[int, asyncpg.Record] = {}
    if merchant_ids:
        merchants = {m["id"]: m for m in await conn.fetch(sql.MERCHANTS_WITH_CATEGORY, merchant_ids)}
    experiments: dict[int, list[dict[str, Any]]] = defaultdict(list)
    daily: dict[int, list[dict[str, Any]]] = defaultdict(list)
    totals: dict[int, asyncpg.Record] = {}
    if ids:
        current: dict[str, Any] | None = None
        current_id = None
        for e in await conn.fetch(sql.EXPERIMENTS_WITH_VARIANTS, ids):
            if e["id"] != current_id:
                current_id = e["id"]
                current = {"key": e["key"], "status": e["status"].upper(), "variants": []}
                experiments[e["campaign_id"]].append(current)
            if e["variant_key"] is not None and current is not None:
                current["variants"].append({"key": e["variant_key"], "weight": e["weight"]})
        for d in await conn.fetch(sql.DAILY_METRICS, ids, start, end):
            daily[d["campaign_id"]].append(
                {
                    "date": d["date"].isoformat(),
                    "impressions": d["impressions"],
                    "clicks": d["clicks"],
                    "revenue": str(d["revenue"]),
                }
            )
        totals = {t["campaign_id"]: t for t in await conn.fetch(sql.METRIC_TOTALS, ids, start, end)}
    edges = [
        {
            "node": {
                "id": global_id("Campaign", row["id"]),
                "name": row["name"],
                "type": row["type"].upper(),
                "budget": str(row["budget"]),
                "startsAt": _iso(row["starts_at"]),
                "endsAt": _iso(row["ends_at"]),
                "merchant": None
                if row["merchant_id"] is None
                else _merchant(merchants.get(row["merchant_id"])),
                "experiments": experiments.get(row["id"], []),
                "dailyMetrics": daily.get(row["id"], []),
                "performance": _performance(totals.get(row["id"])),
            }
        }
        for row in rows
    ]
    end_cursor = cursor(rows[-1]["name"], rows[-1]["id"]) if rows else None
    return {
        "campaigns": {
            "totalCount": total,
            "pageInfo": {"hasNextPage": more, "endCursor": end_cursor},
            "edges": edges,
        }
    }


async def flat_list(conn: asyncpg.Connection, viewer: Viewer, variables: dict[str, Any]) -> dict[str, Any]:
    """50 campaigns, newest first: id and name."""
    rows = await conn.fetch(sql.FLAT_PAGE, PAGE_SIZE + 1)
    edges = [{"node": {"id": global_id("Campaign", r["id"]), "name": r["name"]}} for r in rows[:PAGE_SIZE]]
    return {"campaigns": {"edges": edges}}


def _context_user_pk(value: Any) -> int | None:
    """The pk inside a User global id, for the roles that evaluate for others; None when malformed."""
    if not isinstance(value, str):
        return None
    try:
        kind, _, pk = base64.b64decode(value, validate=True).decode().partition(":")
    except ValueError:
        return None
    return int(pk) if kind == "User" and pk.isdigit() else None


async def evaluate_flags(
    conn: asyncpg.Connection, viewer: Viewer, variables: dict[str, Any]
) -> dict[str, Any]:
    """Every flag for the viewer (customers: bucketed by their own id), by key."""
    context = variables.get("context")
    if not isinstance(context, dict):
        raise Refused("Variable $context must be a FlagContextInput.")
    segment, session_id = context.get("segment"), context.get("sessionId")
    user_pk = _context_user_pk(context.get("userId")) if uses_context_user_id(viewer.role) else None
    stickiness = stickiness_for(
        role=viewer.role, viewer_user_id=viewer.user_id, context_user_id=user_pk, session_id=session_id
    )
    flags: dict[str, tuple[FlagConfig, list[RolloutConfig]]] = {}
    for r in await conn.fetch(sql.FLAGS_WITH_ROLLOUTS):
        if r["key"] not in flags:
            config = FlagConfig(
                key=r["key"], enabled=r["enabled"], rollout_percentage=r["rollout_percentage"]
            )
            flags[r["key"]] = (config, [])
        if r["rollout_id"] is not None:
            flags[r["key"]][1].append(
                RolloutConfig(
                    variant_key=r["variant_key"],
                    weight=r["weight"],
                    segment=r["user_segment"],
                    variant_value=r["variant_value"],
                    active=r["active"],
                )
            )
    answers = []
    for flag, rollouts in flags.values():
        result = evaluate_flag(flag=flag, rollouts=rollouts, segment=segment, stickiness=stickiness)
        answers.append(
            {
                "key": result.key,
                "value": result.value,
                "variant": result.variant,
                "variantValue": result.variant_value,
                "reason": result.reason.name,
                "errorCode": None if result.error is None else result.error.name,
            }
        )
    return {"evaluateFlags": answers}


# Statements each answer runs inside its BEGIN ... COMMIT (tests/bench/test_floor.py counts them).
FLOOR_STATEMENTS = {"campaigns_page": 6, "flat_list": 1, "evaluate_flags": 1}
