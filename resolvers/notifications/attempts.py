"""Sending pending deliveries through their providers, at least once, each with its stable id.

A batch is leased, not held: one short transaction claims it (FOR UPDATE SKIP LOCKED), counts the
attempt and moves `next_attempt_at` past the lease, and commits; the sends run outside any
transaction; a second one records each result. A worker killed in between leaves its batch to be
claimed again once the lease is over, and the receivers drop the repeat by its `delivery_key`
(webhook-id, apns-id, Message-ID). A provider failing answers `retry`: the delivery waits (its
Retry-After, else a backoff with jitter) and resumes; after DELIVERY_MAX_ATTEMPTS it is kept as
failed. A rejected device token deactivates the device.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.delivery.message import Channel, Outgoing, Platform, Result, Status

CLAIM = text("""
UPDATE notification_deliveries AS d
SET attempts = d.attempts + 1, next_attempt_at = :lease_until
FROM (SELECT id FROM notification_deliveries
      WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= :now)
      ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED) AS due,
     notifications AS n
LEFT JOIN users AS u ON u.id = n.user_id
WHERE d.id = due.id AND n.id = d.notification_id
RETURNING d.id, d.channel, d.attempts, d.delivery_key, d.device_id, n.id AS notification_id, n.title, n.body,
          n.data, n.category, u.email,
          (SELECT dv.token FROM devices dv WHERE dv.id = d.device_id AND dv.active) AS token,
          (SELECT dv.platform FROM devices dv WHERE dv.id = d.device_id) AS platform
""")
RECORD = text("""
UPDATE notification_deliveries AS d
SET status = r.status, last_error = r.last_error, provider = r.provider, provider_id = r.provider_id,
    next_attempt_at = r.next_attempt_at, sent_at = r.sent_at
FROM unnest(CAST(:id AS bigint[]), CAST(:status AS text[]), CAST(:last_error AS text[]),
            CAST(:provider AS text[]), CAST(:provider_id AS text[]),
            CAST(:next_attempt_at AS timestamptz[]), CAST(:sent_at AS timestamptz[]))
     AS r(id, status, last_error, provider, provider_id, next_attempt_at, sent_at)
WHERE d.id = r.id AND d.status = 'pending'
""")
DEACTIVATE = text("""
UPDATE devices SET active = false, deactivated_reason = 'invalid_token'
WHERE id = ANY(:ids) AND active
""")


@dataclass(frozen=True, slots=True)
class Attempt:
    """A claimed delivery and what to send; `outgoing` is None when there is nothing to send it to."""

    id: int
    attempts: int
    device_id: int | None
    outgoing: Outgoing | None


@dataclass(frozen=True, slots=True)
class Policy:
    max_attempts: int
    retry_base_s: float
    retry_max_s: float
    lease_s: float


def _outgoing(row: Any, unsubscribe_url: str | None) -> Outgoing | None:
    channel = Channel(row.channel)
    address = {Channel.EMAIL: row.email, Channel.PUSH: row.token}.get(channel)
    if address is None:
        return None  # an erased person, an unregistered device
    return Outgoing(
        delivery_id=str(row.delivery_key), channel=channel, address=address, title=row.title, body=row.body,
        platform=Platform(row.platform) if channel is Channel.PUSH else None, data=row.data or {},
        category=row.category, unsubscribe_url=unsubscribe_url if channel is Channel.EMAIL else None,
    )  # fmt: skip


async def claim(
    session: AsyncSession, *, now: dt.datetime, limit: int, policy: Policy, unsubscribe_url: str | None
) -> list[Attempt]:
    """Lease up to `limit` pending deliveries (the caller commits at once)."""
    lease = now + dt.timedelta(seconds=policy.lease_s)
    rows = await session.execute(CLAIM, {"now": now, "limit": limit, "lease_until": lease})
    return [Attempt(r.id, r.attempts, r.device_id, _outgoing(r, unsubscribe_url)) for r in rows]


def _wait(attempt: int, policy: Policy, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(retry_after, policy.retry_max_s)
    # Full jitter: many deliveries failing together do not all come back at the same instant.
    ceiling = min(policy.retry_max_s, policy.retry_base_s * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


async def record(
    session: AsyncSession,
    *,
    results: Sequence[tuple[Attempt, Result, str | None]],
    now: dt.datetime,
    policy: Policy,
) -> dict[str, int]:
    """Store each attempt's outcome (sent, to retry at a time, failed, rejected); count them."""
    counts = {"sent": 0, "retry": 0, "failed": 0, "rejected": 0}
    columns: dict[str, list[Any]] = {k: [] for k in ("id", "status", "last_error", "provider", "provider_id",
                                                     "next_attempt_at", "sent_at")}  # fmt: skip
    gone: list[int] = []
    for attempt, result, provider in results:
        status, next_at, sent_at = result.status.value, None, None
        if result.status is Status.SENT:
            sent_at = now
        elif result.status is Status.RETRY and attempt.attempts >= policy.max_attempts:
            status = "failed"
        elif result.status is Status.RETRY:
            status = "pending"
            next_at = now + dt.timedelta(seconds=_wait(attempt.attempts, policy, result.retry_after))
        if result.recipient_gone and attempt.device_id is not None:
            gone.append(attempt.device_id)
        counts["retry" if status == "pending" else status] += 1
        for name, value in (
            ("id", attempt.id), ("status", status), ("provider", provider),
            ("provider_id", result.provider_id),
            ("last_error", None if result.error_code is None else result.error_code.value),
            ("next_attempt_at", next_at), ("sent_at", sent_at),
        ):  # fmt: skip
            columns[name].append(value)
    if results:
        await session.execute(RECORD, columns)
    if gone:
        await session.execute(DEACTIVATE, {"ids": gone})
    return counts
