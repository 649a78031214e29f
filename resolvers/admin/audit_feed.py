"""New entries of the general audit log for `auditLogAppended`: the rows a subscriber was not sent yet.

Ids come from one sequence but transactions commit in any order: the row with id 10 may become
visible after the row with id 11 was sent. The cursor keeps, besides the highest id seen, the ids
below it not seen yet (gaps): a transaction still open then shows its rows in a later read, and a
gap left by a rolled-back transaction, never filled, is forgotten after GAP_LIFETIME_S, longer than
any request may run (REQUEST_TIMEOUT_S). Every new row counts as seen, matching the filter or not,
so a filter does not turn the rows it skips into gaps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, func, or_, select

from core.changes import table_tag
from models.admin import AuditLogEntry
from resolvers.admin.reads import AuditFilter, filtered_entries

GAP_LIFETIME_S = 120.0
# Ids skipped at once past which no gap is kept (a sequence jump after a crash, not open transactions).
MAX_NEW_GAPS = 1_000
MAX_GAPS = 10_000


@dataclass
class AuditCursor:
    """How far one subscription has read: the highest id seen, and the missing ids below it."""

    highest: int
    # id -> when it was first found missing (the caller's clock, seconds)
    gaps: dict[int, float] = field(default_factory=dict)

    def advance(self, found: Iterable[int], now: float) -> None:
        """Record the new ids a read found."""
        ids = set(found)
        for seen in ids:
            self.gaps.pop(seen, None)
        top = max(ids, default=self.highest)
        if top > self.highest:
            skipped = top - self.highest - 1 - sum(1 for i in ids if i > self.highest)
            if skipped <= MAX_NEW_GAPS:
                for missing in range(self.highest + 1, top):
                    if missing not in ids:
                        self.gaps[missing] = now
            self.highest = top
        expired = [gap for gap, since in self.gaps.items() if now - since > GAP_LIFETIME_S]
        for gap in expired:
            del self.gaps[gap]
        while len(self.gaps) > MAX_GAPS:
            del self.gaps[min(self.gaps)]


def check_filter(filter: AuditFilter) -> None:
    """BAD_USER_INPUT for a filter the auditLog query would refuse too."""
    filtered_entries(filter)


async def audit_cursor(context: Any) -> AuditCursor:
    """A cursor after every entry committed so far (a subscriber is sent what is appended next)."""
    async with context.read_connection() as session:
        highest = await session.scalar(select(func.max(AuditLogEntry.id)))
    return AuditCursor(highest=highest or 0)


async def appended_entries(
    context: Any, *, cursor: AuditCursor, filter: AuditFilter, now: float
) -> list[Row]:
    """The entries matching `filter` appended since the cursor, oldest first; the cursor moves on."""
    async with context.read_connection() as session:
        new = or_(AuditLogEntry.id > cursor.highest, AuditLogEntry.id.in_(list(cursor.gaps)))
        found = (await session.execute(select(AuditLogEntry.id).where(new))).scalars().all()
        rows: list[Row] = []
        if found:
            query = filtered_entries(filter).where(AuditLogEntry.id.in_(found)).order_by(AuditLogEntry.id)
            rows = list((await session.execute(query)).all())
    cursor.advance(found, now)
    return rows


# Audit rows are inserted by statement (resolvers/audit.py): their writes name the table, not the ids.
AUDIT_TAGS = [table_tag(AuditLogEntry.__tablename__)]
