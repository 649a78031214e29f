"""Campaign analytics ingestion: events from the apps and services folded into the metric tables.

Who may say what (the README's "Analytics writes: who may report what"):

- A trusted source (TRUSTED_EVENT_SOURCES: services, by API key) reports any event type, revenue
  included, about any campaign that was shown (running, paused, completed), under any segment.
- A customer's device reports impressions and clicks only, only about RUNNING campaigns whose
  audience includes the customer as far as the data model knows (resolvers/analytics/audience.py),
  attributed to that customer (a receipt with their user id), at most
  `analytics_user_events_per_campaign_day` per campaign and UTC day. Every campaign it may not
  report on gets the same answer, so it cannot tell one that does not exist from one it is not in.

Either may give each event its own `client_event_id`: an id already counted (a retry) is a
duplicate, not counted again. A batch is the one documented exception to all-or-nothing: its events
are independent, so a refused event is reported with its index and the others are kept, in one
transaction. No event can make the batch fail as a whole: every value is bounded before anything is
written, and the sums' columns have room for anything the bounds allow (models/analytics.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import RequestContext
from core.policies import TRUSTED_EVENT_SOURCES
from core.viewer import Viewer
from models.campaigns import Campaign, CampaignStatus
from models.users import User
from resolvers.analytics import receipts
from resolvers.analytics.audience import Member, in_audience, normal, segments_of
from resolvers.analytics.event_log import append_events
from resolvers.analytics.events import (
    MAX_EVENT_REVENUE,
    MAX_EVENTS,
    CampaignEvent,
    check_values,
    utc,
)
from resolvers.outcomes import Outcome, Problem, ProblemCode, Problems

# Apps buffer events offline for a while; older ones would rewrite days already reported on.
MAX_AGE = dt.timedelta(days=7)
# Clock skew of a phone, not events from the future.
MAX_AHEAD = dt.timedelta(minutes=5)

# The most one metrics row can gain. A day's row takes events from MAX_AHEAD before the day to
# MAX_AGE after it; the calls touching one row take its lock in turn, and a commit waits for its WAL
# flush, so a million commits a second on one row is far beyond any server. The column types are
# chosen so that even that cannot reach their end (tests/analytics/test_ingestion_bounds.py).
ROW_WINDOW_SECONDS = int((dt.timedelta(days=1) + MAX_AGE + MAX_AHEAD).total_seconds())
COMMITS_PER_SECOND_BEYOND_ANY_SERVER = 1_000_000
REACHABLE_DAY_EVENTS = MAX_EVENTS * COMMITS_PER_SECOND_BEYOND_ANY_SERVER * ROW_WINDOW_SECONDS
REACHABLE_DAY_REVENUE = MAX_EVENT_REVENUE * REACHABLE_DAY_EVENTS

# Events count for campaigns that were shown: running, paused (late events of what was shown) and
# completed (events buffered offline arrive after the end). Drafts and scheduled campaigns were never
# shown; archived ones are closed history. A customer's device reports only what is running now.
ACCEPTING = frozenset({CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.COMPLETED})
APP_ACCEPTING = frozenset({CampaignStatus.RUNNING})
# The one answer a customer gets for a campaign that is missing, not running, or not aimed at them.
NOT_REPORTABLE = "No running campaign of yours has this id."


@dataclass(frozen=True, slots=True)
class _Target:
    status: CampaignStatus
    target_segment: str | None


@dataclass(slots=True)
class IngestResult:
    accepted: int
    rejected: int
    # Events whose client_event_id was counted before (or earlier in the batch): not counted again.
    duplicates: int = 0
    # Per rejected event, with its index in the field: "events.3.campaign_id".
    problems: list[Problem] = field(default_factory=list)


async def _targets(session: AsyncSession, ids: set[int]) -> dict[int, _Target]:
    if not ids:
        return {}
    # FOR KEY SHARE, in id order: the status cannot change (archiving takes FOR UPDATE) until this
    # batch commits, while other batches share the lock and are not held up.
    rows = await session.execute(
        select(Campaign.id, Campaign.status, Campaign.target_segment)
        .where(Campaign.id == any_(bindparam("ids", sorted(ids), type_=ARRAY(BigInteger))))
        .order_by(Campaign.id)
        .with_for_update(read=True, key_share=True)
    )
    return {cid: _Target(CampaignStatus(status), segment) for cid, status, segment in rows}


async def _member(session: AsyncSession, user_id: int) -> Member | None:
    """The customer as the audience rule sees them; None once erased.

    FOR NO KEY UPDATE serialises this customer's batches, so the per-day bound is counted exactly;
    other users' batches, and foreign keys to the row, are not held up.
    """
    row = (
        await session.execute(
            select(User.loyalty_tier, User.created_at)
            .where(User.id == user_id, User.deleted_at.is_(None))
            .with_for_update(key_share=True)
        )
    ).one_or_none()
    return None if row is None else Member(loyalty_tier=row.loyalty_tier, joined_at=row.created_at)


def _window_problem(index: int, event: CampaignEvent, now: dt.datetime) -> Problem | None:
    occurred = utc(event.occurred_at)
    if now - MAX_AGE <= occurred <= now + MAX_AHEAD:
        return None
    return Problem(
        f"events.{index}.occurred_at",
        f"Must be within the last {MAX_AGE.days} days and at most "
        f"{int(MAX_AHEAD.total_seconds() // 60)} minutes ahead.",
        ProblemCode.OUT_OF_RANGE,
    )


def _trusted_problem(field_name: str, target: _Target | None) -> Problem | None:
    if target is None:
        return Problem(field_name, "No such campaign.", ProblemCode.NOT_FOUND)
    if target.status not in ACCEPTING:
        return Problem(field_name, f"A {target.status} campaign takes no events.", ProblemCode.INVALID)
    return None


def _app_problems(
    index: int, event: CampaignEvent, target: _Target | None, segments: frozenset[str]
) -> list[Problem]:
    at = f"events.{index}."
    if (
        target is None
        or target.status not in APP_ACCEPTING
        or not in_audience(target.target_segment, segments)
    ):
        return [Problem(at + "campaign_id", NOT_REPORTABLE, ProblemCode.NOT_FOUND)]
    if event.segment is not None and normal(event.segment) not in segments:
        return [Problem(at + "segment", "Not a segment this account is in.", ProblemCode.INVALID)]
    return []


async def record_campaign_events(
    *,
    session: AsyncSession,
    reporter: Viewer,
    events: list[CampaignEvent],
    now: dt.datetime,
    per_user_day: int,
) -> Outcome[IngestResult]:
    """Append the events the reporter may report for the fold to count; report the others by index."""
    trusted = reporter.role in TRUSTED_EVENT_SOURCES
    segments: frozenset[str] = frozenset()
    if not trusted:
        member = None if reporter.user_id is None else await _member(session, reporter.user_id)
        if member is None:
            return Outcome.one_problem(None, "This account reports no events.", ProblemCode.FORBIDDEN)
        segments = segments_of(member, now=now)
    targets = await _targets(session, {e.campaign_id for e in events if e.campaign_id is not None})
    problems: list[Problem] = []
    candidates: list[receipts.Indexed] = []
    for index, event in enumerate(events):
        found = Problems()
        target = targets.get(event.campaign_id) if event.campaign_id is not None else None
        if trusted:
            campaign_problem = _trusted_problem(f"events.{index}.campaign_id", target)
            found.items.extend([campaign_problem] if campaign_problem else [])
        else:
            found.items.extend(_app_problems(index, event, target, segments))
            # Counted under the name the rule matched, so "Gold" and "gold" are one segment.
            if event.segment is not None and not found:
                event = replace(event, segment=normal(event.segment))
        window_problem = _window_problem(index, event, now)
        found.items.extend([window_problem] if window_problem else [])
        check_values(index, event, trusted=trusted, problems=found)
        if found:
            problems.extend(found.items)
        else:
            candidates.append((index, event))
    if trusted:
        sorted_ = await receipts.sort_trusted(session, reporter=reporter.label, candidates=candidates)
    else:
        assert reporter.user_id is not None
        sorted_ = await receipts.sort_app(
            session,
            reporter=reporter.label,
            user_id=reporter.user_id,
            candidates=candidates,
            bound=per_user_day,
        )
    for index in sorted_.over_bound:
        message = f"More than {per_user_day} events of this campaign and UTC day from this account."
        problems.append(Problem(f"events.{index}", message, ProblemCode.OUT_OF_RANGE))
    kept = [event for _, event in sorted_.kept]
    if kept:
        await append_events(session, kept)
    result = IngestResult(
        accepted=len(kept),
        rejected=len(events) - len(kept) - sorted_.duplicates,
        duplicates=sorted_.duplicates,
        problems=sorted(problems, key=lambda p: _index_of(p.field)),
    )
    return Outcome(value=result, ref=batch_ref(result))


def _index_of(field_name: str | None) -> int:
    return int((field_name or "events.0").split(".")[1])


# A replay by idempotency key rebuilds the counts from the stored reference (id = (accepted * base +
# duplicates) * base + rejected); the per-event errors of the first execution are not repeated.
BATCH_REF_TYPE = "CampaignEventBatch"
_REF_BASE = 1000  # more than MAX_EVENTS


def batch_ref(result: IngestResult) -> tuple[str, int]:
    return BATCH_REF_TYPE, (result.accepted * _REF_BASE + result.duplicates) * _REF_BASE + result.rejected


async def stored_batch(context: RequestContext, ref: dict[str, Any]) -> IngestResult:
    """A replayed batch's counts, rebuilt from its stored reference alone (nothing to read)."""
    rest, rejected = divmod(int(ref["id"]), _REF_BASE)
    accepted, duplicates = divmod(rest, _REF_BASE)
    return IngestResult(accepted=accepted, rejected=rejected, duplicates=duplicates)


async def prune_receipts(session: AsyncSession, *, now: dt.datetime) -> int:
    """Delete the receipts of days no event is accepted for any more (older than MAX_AGE)."""
    return await receipts.delete_before(session, (now - MAX_AGE).date())
