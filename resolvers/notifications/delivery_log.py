"""The delivery log: every delivery of a send or a campaign, or all of them in a state, newest first
(admins: it names the person and the provider's answer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, select

from loaders.base import Reader
from loaders.notifications import DELIVERY_COLUMNS
from models.notifications import Channel, DeliveryStatus, Notification, NotificationDelivery
from resolvers.pagination import Page, PageRequest, SortKey, paginate

NEWEST_FIRST = SortKey(
    column=NotificationDelivery.created_at, id_column=NotificationDelivery.id, descending=True
)


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    send_id: int | None = None
    campaign_id: int | None = None
    status: DeliveryStatus | None = None
    channel: Channel | None = None


def _filtered(f: DeliveryFilter) -> Select[Any]:
    d, n = NotificationDelivery, Notification
    query = select(*DELIVERY_COLUMNS, n.user_id).join(n, n.id == d.notification_id)
    if f.send_id is not None:
        query = query.where(n.send_id == f.send_id)
    if f.campaign_id is not None:
        query = query.where(n.campaign_id == f.campaign_id)
    if f.status is not None:
        query = query.where(d.status == f.status.value)
    if f.channel is not None:
        query = query.where(d.channel == f.channel.value)
    return query


async def list_deliveries(
    *, session: Reader, filter: DeliveryFilter, page: PageRequest
) -> tuple[Page[Row], Select[Any]]:
    query = _filtered(filter)
    return await paginate(session, query, key=NEWEST_FIRST, page=page), query
