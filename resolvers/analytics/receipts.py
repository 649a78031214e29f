"""Event receipts: a reporter's client event ids count once, and a customer's device reports a bounded
number of events per campaign and UTC day.

Both rules live in campaign_event_receipts (models/analytics.py): its UNIQUE (reporter,
client_event_id) makes a second copy of an id impossible, whatever races; a customer's receipts of a
campaign-day are what the bound counts. A customer's batches run one at a time (the caller holds the
user's row lock), so counting then inserting is exact. Services are not bounded; their concurrent
retries meet at the constraint (ON CONFLICT DO NOTHING waits for the other insert to commit), and
ids are inserted in sorted order so two batches never wait for each other in opposite directions.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Date, String, any_, bindparam, delete, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from models.analytics import CampaignEventReceipt as R
from resolvers.analytics.events import CampaignEvent

Indexed = tuple[int, CampaignEvent]  # an event with its index in the batch

INSERT_RECEIPTS = text("""
INSERT INTO campaign_event_receipts (reporter, client_event_id, campaign_id, user_id, date)
SELECT :reporter, u.client_event_id, u.campaign_id, CAST(:user_id AS bigint), u.date
FROM unnest(CAST(:client_event_id AS text[]), CAST(:campaign_id AS bigint[]), CAST(:date AS date[]))
     AS u(client_event_id, campaign_id, date)
ORDER BY u.client_event_id
ON CONFLICT (reporter, client_event_id) DO NOTHING
RETURNING client_event_id
""")


@dataclass(slots=True)
class Sorted:
    """The candidates of a batch, sorted into what counts, what was counted before, what is refused."""

    kept: list[Indexed] = field(default_factory=list)
    duplicates: int = 0
    # Indexes of the events past the day's bound.
    over_bound: list[int] = field(default_factory=list)


def _first_of_each_id(candidates: list[Indexed], seen: set[str]) -> tuple[list[Indexed], int]:
    """The events whose id is not in `seen` nor earlier in the batch; and how many were dropped."""
    seen = set(seen)
    first: list[Indexed] = []
    for indexed in candidates:
        client_id = indexed[1].client_event_id
        if client_id is not None:
            if client_id in seen:
                continue
            seen.add(client_id)
        first.append(indexed)
    return first, len(candidates) - len(first)


async def _insert(
    session: AsyncSession, *, reporter: str, user_id: int | None, events: list[Indexed]
) -> set[str]:
    """Write the receipts; return the client ids that were new (the others were there already)."""
    if not events:
        return set()
    rows = await session.execute(
        INSERT_RECEIPTS,
        {
            "reporter": reporter,
            "user_id": user_id,
            "client_event_id": [e.client_event_id for _, e in events],
            "campaign_id": [e.campaign_id for _, e in events],
            "date": [e.day for _, e in events],
        },
    )
    return {client_id for (client_id,) in rows if client_id is not None}


def _new_only(events: list[Indexed], inserted: set[str]) -> list[Indexed]:
    return [(i, e) for i, e in events if e.client_event_id is None or e.client_event_id in inserted]


async def sort_trusted(session: AsyncSession, *, reporter: str, candidates: list[Indexed]) -> Sorted:
    """A trusted source's events: only the ones carrying an id leave a receipt, and a known id counts once."""
    unique, _ = _first_of_each_id(candidates, set())
    with_id = [(i, e) for i, e in unique if e.client_event_id is not None]
    inserted = await _insert(session, reporter=reporter, user_id=None, events=with_id)
    kept = _new_only(unique, inserted)
    return Sorted(kept=kept, duplicates=len(candidates) - len(kept))


async def _known_ids(session: AsyncSession, reporter: str, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    rows = await session.scalars(
        select(R.client_event_id).where(
            R.reporter == reporter,
            R.client_event_id == any_(bindparam("ids", sorted(set(ids)), type_=ARRAY(String))),
        )
    )
    return {client_id for client_id in rows if client_id is not None}


async def _counted(
    session: AsyncSession, user_id: int, events: list[Indexed]
) -> Counter[tuple[int | None, dt.date]]:
    """How many events the user already reported of each campaign-day in the batch."""
    campaigns = sorted({e.campaign_id for _, e in events if e.campaign_id is not None})
    days = sorted({e.day for _, e in events})
    rows = await session.execute(
        select(R.campaign_id, R.date, func.count())
        .where(
            R.user_id == user_id,
            R.campaign_id == any_(bindparam("campaigns", campaigns, type_=ARRAY(R.campaign_id.type))),
            R.date == any_(bindparam("days", days, type_=ARRAY(Date))),
        )
        .group_by(R.campaign_id, R.date)
    )
    return Counter({(campaign_id, day): int(n) for campaign_id, day, n in rows})


async def sort_app(
    session: AsyncSession, *, reporter: str, user_id: int, candidates: list[Indexed], bound: int
) -> Sorted:
    """A customer's events: a known id counts once, and each campaign-day takes at most `bound` of theirs.

    Every kept event leaves a receipt, id or not: the receipts are what the bound counts.
    """
    if not candidates:
        return Sorted()
    ids = [e.client_event_id for _, e in candidates if e.client_event_id is not None]
    known = await _known_ids(session, reporter, ids)
    unique, repeated = _first_of_each_id(candidates, known)
    used = await _counted(session, user_id, unique)
    granted: list[Indexed] = []
    result = Sorted(duplicates=repeated)
    for index, event in unique:
        key = (event.campaign_id, event.day)
        if used[key] >= bound:
            result.over_bound.append(index)
            continue
        used[key] += 1
        granted.append((index, event))
    inserted = await _insert(session, reporter=reporter, user_id=user_id, events=granted)
    result.kept = _new_only(granted, inserted)
    result.duplicates += len(granted) - len(result.kept)
    return result


async def delete_before(session: AsyncSession, day: dt.date) -> int:
    """Delete the receipts of days before `day` (served by the date index); return how many."""
    result = await session.execute(delete(R).where(R.date < day).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)
