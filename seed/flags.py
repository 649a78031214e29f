"""Rollout variants of the reference flags, their raw checks of the last 30 days and daily rollups.

The rollups of those 30 days are computed from the raw rows by SQL, as the nightly rollup would;
older days, whose raw rows would already be purged, are generated around the same levels.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from itertools import accumulate

from seed.copy import Loader, Row
from seed.world import World, rng, weighted_index

USAGE_DAYS = 30
APP_TYPES = ("mobile", "web", "admin")
APP_WEIGHTS = list(accumulate((0.70, 0.20, 0.10)))
DEVICES = {
    "mobile": tuple(
        json.dumps(d)
        for d in (
            {"os": "ios", "os_version": "17.5", "app_version": "3.8.2", "model": "iPhone15,2"},
            {"os": "ios", "os_version": "18.1", "app_version": "3.9.0", "model": "iPhone16,1"},
            {"os": "android", "os_version": "14", "app_version": "3.8.1", "model": "Pixel 8"},
            {"os": "android", "os_version": "13", "app_version": "3.7.4", "model": "SM-S911B"},
        )
    ),
    "web": (
        json.dumps({"browser": "chrome", "version": "131"}),
        json.dumps({"browser": "safari", "version": "18"}),
    ),
    "admin": (json.dumps({"browser": "chrome", "version": "131", "dashboard": "admin"}),),
}
HOUR_WEIGHTS = list(accumulate((1, 1, 1, 1, 1, 2, 4, 7, 9, 8, 7, 8, 10, 8, 7, 7, 8, 9, 11, 12, 11, 8, 5, 2)))


def _variants(key: str, type_: str) -> list[tuple[str | None, str, str, int]]:
    """(segment, variant key, value, weight); the weights of one segment add up to 1000."""
    if type_ == "experiment":
        return [
            (None, "control", "false", 500),
            (None, "treatment", "true", 500),
            ("beta_testers", "treatment", "true", 1000),
        ]
    if key == "dark_mode":
        return [(None, "system", "system", 700), (None, "dark", "dark", 300)]
    return [(None, "on", "true", 1000), ("platinum", "on", "true", 1000)]


async def write_flags(loader: Loader, world: World) -> None:
    world.flags = [
        (row[0], row[1], row[2], row[3], row[4])
        for row in await loader.conn.fetch(
            "SELECT id, key, enabled, rollout_percentage, type FROM feature_flags ORDER BY id"
        )
    ]
    created = world.days_ago(120)
    rollouts = [
        (flag_id, segment, variant, value, weight, True, created, created)
        for flag_id, key, _, _, type_ in world.flags
        for segment, variant, value, weight in _variants(key, type_)
    ]
    await loader.copy(
        "feature_flag_rollouts",
        (
            "flag_id",
            "user_segment",
            "variant_key",
            "variant_value",
            "weight",
            "active",
            "created_at",
            "updated_at",
        ),
        rollouts,
        total=len(rollouts),
    )
    await loader.copy(
        "feature_flag_usage",
        (
            "flag_id",
            "user_id",
            "session_id",
            "app_type",
            "accessed_at",
            "value_used",
            "variant_key",
            "response_time_ms",
            "cache_hit",
            "error",
            "device_info",
            "request_id",
        ),
        _usage(world),
        total=world.scale.flag_usage,
    )
    await loader.insert_select(
        "feature_flag_analytics",
        """
        INSERT INTO feature_flag_analytics (flag_id, date, total_users, total_checks, enabled_count,
            disabled_count, error_count, cache_hits, response_time_ms_total, created_at, updated_at)
        SELECT flag_id, (accessed_at AT TIME ZONE 'UTC')::date, count(DISTINCT user_id), count(*),
               count(*) FILTER (WHERE value_used), count(*) FILTER (WHERE NOT value_used),
               count(*) FILTER (WHERE error), count(*) FILTER (WHERE cache_hit),
               coalesce(sum(response_time_ms), 0), $1::timestamptz, $1::timestamptz
        FROM feature_flag_usage GROUP BY 1, 2 ORDER BY 1, 2
        """,
        world.now,
        last=False,
    )
    await loader.copy(
        "feature_flag_analytics",
        (
            "flag_id",
            "date",
            "total_users",
            "total_checks",
            "enabled_count",
            "disabled_count",
            "error_count",
            "cache_hits",
            "response_time_ms_total",
            "created_at",
            "updated_at",
        ),
        await _older_rollups(loader, world),
    )


def _usage(world: World) -> Iterator[Row]:
    r = rng("flag_usage")
    random, getrandbits = r.random, r.getrandbits
    flags = world.flags
    # Flags on screens everyone opens are checked more often than experimental ones.
    popularity = list(accumulate(3.0 if enabled else 1.0 for _, _, enabled, _, _ in flags))
    variants = [
        [(v, w) for s, v, _, w in _variants(key, type_) if s is None] for _, key, _, _, type_ in flags
    ]
    # Checks grow slowly over the month and dip at the weekend.
    shares = [
        (1 + 0.01 * k) * (0.85 if (world.today - dt.timedelta(days=USAGE_DAYS - k)).weekday() >= 5 else 1.0)
        for k in range(USAGE_DAYS)
    ]
    cumulative = list(accumulate(shares))
    previous = 0
    for k in range(USAGE_DAYS):
        upto = round(world.scale.flag_usage * cumulative[k] / cumulative[-1])
        count, previous = upto - previous, upto
        midnight = world.days_ago(USAGE_DAYS - k)
        seconds = sorted(weighted_index(r, HOUR_WEIGHTS) * 3600 + random() * 3600 for _ in range(count))
        for s in seconds:
            f = weighted_index(r, popularity)
            flag_id, _, enabled, rollout, type_ = flags[f]
            user_id = r.choice(world.customer_ids) if random() < 0.85 else None
            session = f"s-{user_id:x}-{k}" if user_id else f"anon-{getrandbits(64):016x}"
            app = APP_TYPES[weighted_index(r, APP_WEIGHTS)]
            cache_hit = random() < 0.8
            latency = round((0.4 if cache_hit else 8.0) * math.exp(r.gauss(0.0, 0.5)), 3)
            if random() < 0.005:
                value, variant, error = None, None, True
            else:
                value = random() * 100 < rollout if enabled else random() < 0.03
                error = False
                x, variant = random() * 1000, None
                for key, weight in variants[f]:
                    x -= weight
                    if x < 0:
                        variant = key
                        break
                if not value:
                    variant = "control" if type_ == "experiment" else None
            yield (
                flag_id,
                user_id,
                session,
                app,
                midnight + dt.timedelta(seconds=s),
                value,
                variant,
                latency,
                cache_hit,
                error,
                r.choice(DEVICES[app]),
                f"{getrandbits(128):032x}",
            )


async def _older_rollups(loader: Loader, world: World) -> list[Row]:
    """Days before the raw window, at the levels of the recent rollups, lower the further back."""
    r = rng("flag_analytics")
    levels = await loader.conn.fetch(
        """
        SELECT flag_id, avg(total_users)::float8, avg(total_checks)::float8,
               sum(enabled_count)::float8 / sum(total_checks),
               sum(disabled_count)::float8 / sum(total_checks),
               sum(error_count)::float8 / sum(total_checks),
               sum(cache_hits)::float8 / sum(total_checks),
               sum(response_time_ms_total) / sum(total_checks)
        FROM feature_flag_analytics GROUP BY flag_id ORDER BY flag_id
        """
    )
    rows = []
    history = world.scale.history_days
    for flag_id, users, checks, enabled, disabled, errors, cached, latency in levels:
        for age in range(history, USAGE_DAYS, -1):
            day = world.today - dt.timedelta(days=age)
            factor = (
                (0.6 + 0.4 * (1 - age / history))
                * (0.85 if day.weekday() >= 5 else 1.0)
                * math.exp(r.gauss(0, 0.1))
            )
            total = int(checks * factor)
            failed = min(total, int(total * errors + r.random()))
            on = min(total - failed, int(total * enabled * r.uniform(0.97, 1.03)))
            off = min(total - failed - on, int(total * disabled * r.uniform(0.97, 1.03)))
            stamp = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
            rows.append(
                (
                    flag_id,
                    day,
                    min(total, int(users * factor)),
                    total,
                    on,
                    off,
                    failed,
                    min(total, int(total * cached)),
                    round(total * latency * r.uniform(0.9, 1.1), 3),
                    stamp,
                    stamp,
                )
            )
    return rows
