"""What a live evaluation of the flags listens to (core/change_feed.py): every write to the tables
evaluation reads, and a snapshot at least as new as that write."""

from __future__ import annotations

from core.changes import table_tag
from core.services import Services
from models.flags import FeatureFlag, FlagRollout
from resolvers.flags.live_flags import live_flags

# Every row write names its table, and so does a statement of unknown rows.
FLAG_TAGS = [table_tag(FeatureFlag.__tablename__), table_tag(FlagRollout.__tablename__)]


async def catch_up(services: Services) -> None:
    """Bring this worker's flag snapshot to the database's version before evaluating again: the
    change feed and the snapshot's own announcement travel separately, and an evaluation from a
    snapshot that has not heard of the write would push nothing new."""
    flags = live_flags(services)
    if flags is not None:
        await flags.reload()
