"""Campaign reads: filtered, sorted, keyset-paginated lists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, Select, func, select

from core.viewer import Viewer
from loaders.base import Reader
from loaders.campaigns import CAMPAIGN_COLUMNS
from loaders.visibility import campaigns_visible_to
from models.campaigns import Campaign
from resolvers.pagination import Page, PageRequest, SortKey, paginate
from resolvers.text_inputs import search_words


class CampaignSort(StrEnum):
    CREATED_AT = "created_at"
    NAME = "name"


@dataclass(frozen=True, slots=True)
class CampaignFilter:
    statuses: Sequence[str] = ()
    types: Sequence[str] = ()
    merchant_id: int | None = None
    # Campaigns whose schedule overlaps [active_from, active_to].
    active_from: dt.datetime | None = None
    active_to: dt.datetime | None = None
    search: str | None = None


def _filtered(viewer: Viewer, f: CampaignFilter) -> Select[Any]:
    search = search_words(f.search, field="filter.search")
    query = select(*CAMPAIGN_COLUMNS).where(campaigns_visible_to(viewer))
    if f.statuses:
        query = query.where(Campaign.status.in_(f.statuses))
    if f.types:
        query = query.where(Campaign.type.in_(f.types))
    if f.merchant_id is not None:
        query = query.where(Campaign.merchant_id == f.merchant_id)
    if f.active_from is not None:
        query = query.where(Campaign.ends_at >= f.active_from)
    if f.active_to is not None:
        query = query.where(Campaign.starts_at <= f.active_to)
    if search:
        # websearch_to_tsquery accepts any user text; ix_campaigns_search (GIN) serves the match.
        query = query.where(Campaign.search.op("@@")(func.websearch_to_tsquery("simple", search)))
    return query


async def list_campaigns(
    *,
    session: Reader,
    viewer: Viewer,
    filter: CampaignFilter,
    sort: CampaignSort,
    descending: bool,
    page: PageRequest,
) -> tuple[Page[Row], Select[Any]]:
    """Return one page of the campaigns the viewer may see, and the filtered query for totalCount."""
    query = _filtered(viewer, filter)
    column = Campaign.created_at if sort is CampaignSort.CREATED_AT else Campaign.name
    key = SortKey(column=column, id_column=Campaign.id, descending=descending)
    return await paginate(session, query, key=key, page=page), query
