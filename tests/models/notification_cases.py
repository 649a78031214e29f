"""Constraint cases of the notifications domain, merged into tests/models/test_constraints.py's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tests.models import factories as f
from tests.models import notification_factories as n


def check_cases(case: Callable[..., Any]) -> dict[str, Any]:
    return {
        "ck_segment_members_segment_named": case(n.make_segment_member, {"segment": ""}),
        "ck_devices_platform_allowed": case(n.make_device, {"platform": "symbian"}),
        "ck_devices_token_length": case(n.make_device, {"token": "short"}),
        "ck_notification_preferences_channel_allowed": case(
            n.make_notification_preference, {"channel": "fax"}
        ),
        "ck_notification_preferences_category_allowed": case(
            n.make_notification_preference, {"category": "gossip"}
        ),
        "ck_notification_quiet_hours_not_empty": case(
            n.make_quiet_hours, {"starts": time(8), "ends": time(8)}
        ),
        "ck_notification_sends_status_allowed": case(n.make_notification_send, {"status": "lost"}),
        "ck_notification_sends_category_allowed": case(n.make_notification_send, {"category": "gossip"}),
        "ck_notification_sends_one_audience": case(n.make_notification_send, {"audience_segment": "vip"}),
        "ck_notifications_category_allowed": case(n.make_notification, {"category": "gossip"}),
        "ck_notification_deliveries_channel_allowed": case(n.make_notification_delivery, {"channel": "fax"}),
        "ck_notification_deliveries_status_allowed": case(n.make_notification_delivery, {"status": "lost"}),
    }


async def _second_notification_of_a_campaign(db: AsyncSession) -> Callable[[], Awaitable[object]]:
    campaign = await f.make_campaign(db)
    first = await n.make_notification(db, campaign_id=campaign.id)
    return lambda: n.make_notification(db, campaign_id=campaign.id, user_id=first.user_id)


async def _second_notification_of_a_send(db: AsyncSession) -> Callable[[], Awaitable[object]]:
    send = await n.make_notification_send(db)
    first = await n.make_notification(db, send_id=send.id)
    return lambda: n.make_notification(db, send_id=send.id, user_id=first.user_id)


def unique_cases(case: Callable[..., Any], same: Callable[..., Any]) -> dict[str, Any]:
    return {
        "uq_segment_members_segment_user_id": same(n.make_segment_member, "segment", "user_id"),
        "uq_notification_preferences_user_id_channel_category": same(
            n.make_notification_preference, "user_id", "channel", "category"
        ),
        "uq_notification_quiet_hours_user_id": same(n.make_quiet_hours, "user_id"),
        "uq_devices_platform_token": same(n.make_device, "platform", "token"),
        "uq_notifications_campaign_id_user_id": case(_second_notification_of_a_campaign),
        "uq_notifications_send_id_user_id": case(_second_notification_of_a_send),
        # No device (in-app, e-mail): one delivery per notification and channel.
        "uq_notification_deliveries_target": same(n.make_notification_delivery, "notification_id", "channel"),
        "uq_notification_deliveries_delivery_key": same(n.make_notification_delivery, "delivery_key"),
    }
