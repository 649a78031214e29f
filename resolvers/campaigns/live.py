"""What a live view of a campaign listens to (core/change_feed.py): the writes naming its row."""

from __future__ import annotations

from core.changes import any_key_tag, key_tag
from models.campaigns import Campaign

TABLE = Campaign.__tablename__


def campaign_tags(campaign_id: int) -> list[str]:
    """Its own row's tag, and the table's "some rows by key" tag that statements of unknown rows
    (an UPDATE with a WHERE) change."""
    return [key_tag(TABLE, "id", campaign_id), any_key_tag(TABLE)]
