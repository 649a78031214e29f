"""Mutations of the notification centre, devices and settings: each acts on the viewer's own rows."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import NOTIFICATION_OWNERS
from loaders.notifications import DeviceByIdLoader, NotificationByIdLoader, UnreadCountByUserLoader
from models import notifications as m
from resolvers.notifications import devices, inbox, preferences
from resolvers.outcomes import ProblemCode
from schema.mutation_runner import (
    IDEMPOTENCY_KEY_HELP,
    UserError,
    by_id,
    not_an_id,
    pk_of,
    run_mutation,
    stored_id,
)
from schema.notifications.queries import own_user_id, settings_of
from schema.notifications.types import Category, Channel, Device, Notification, NotificationSettings, Platform
from schema.permissions import allow


@strawberry.input(description="This app install's push token.")
class RegisterDeviceInput:
    platform: Platform = strawberry.field(description="ios (APNs token), android (FCM token) or web.")
    token: str = strawberry.field(description="The token the platform gave the app.")
    app_version: str | None = strawberry.field(default=None, description="The app's version.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="One of your devices, to stop pushes to it (at sign-out).")
class UnregisterDeviceInput:
    id: relay.GlobalID = strawberry.field(description="The device.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="Notifications to mark read: some by id, or all of them.")
class MarkNotificationsReadInput:
    ids: list[relay.GlobalID] | None = strawberry.field(default=None, description="At most 100.")
    all: bool = strawberry.field(default=False, description="Every notification of yours.")


@strawberry.input(description="Notifications to archive (hidden from the centre, kept).")
class ArchiveNotificationsInput:
    ids: list[relay.GlobalID] = strawberry.field(description="At most 100.")


@strawberry.input(description="A notification the person opened, from a push or the centre.")
class OpenNotificationInput:
    id: relay.GlobalID = strawberry.field(description="The notification.")


@strawberry.input(description="Receive a category over a channel, or not.")
class NotificationPreferenceInput:
    channel: Channel = strawberry.field(description="The channel.")
    category: Category = strawberry.field(description="The category.")
    enabled: bool = strawberry.field(description="Received, or not.")


@strawberry.input(description="Quiet hours, in your time zone, whole minutes.")
class QuietHoursInput:
    starts: dt.time = strawberry.field(description="Start (e.g. 22:00).")
    ends: dt.time = strawberry.field(description="End (e.g. 07:30); earlier than the start wraps.")


@strawberry.input(description="Changes to your notification settings; omitted parts stay as they are.")
class UpdateNotificationSettingsInput:
    preferences: list[NotificationPreferenceInput] | None = strawberry.field(
        default=None, description="Changed ones."
    )
    quiet_hours: QuietHoursInput | None = strawberry.field(default=None, description="New quiet hours.")
    clear_quiet_hours: bool = strawberry.field(default=False, description="Remove quiet hours.")
    time_zone: str | None = strawberry.field(
        default=None, description="IANA name (Europe/Paris); an empty string returns to the default."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="The device as registered, or why it was not.")
class DevicePayload:
    device: Device | None = strawberry.field(description="The device after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="The notifications changed, or why none was.")
class NotificationsPayload:
    changed: int = strawberry.field(
        description="How many changed (already read or archived ones do not count)."
    )
    unread_count: int | None = strawberry.field(description="Your unread count after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="The opened notification, or why it was not.")
class OpenNotificationPayload:
    notification: Notification | None = strawberry.field(description="The notification, opened and read.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="Your settings as written, or why nothing was written.")
class NotificationSettingsPayload:
    settings: NotificationSettings | None = strawberry.field(description="Your settings after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _notification_pks(ids: list[relay.GlobalID], errors: list[UserError]) -> list[int]:
    pks = [pk_of(gid, "Notification") for gid in ids]
    if any(pk is None for pk in pks):
        errors.extend(not_an_id("ids", "Notification"))
    return [pk for pk in pks if pk is not None]


async def _unread(info: Ctx, user_id: int) -> int:
    return await info.context.loader(UnreadCountByUserLoader).load(user_id)  # type: ignore[no-any-return]


async def _changed(
    info: Ctx, user_id: int, write: partial[Any], operation: str, input: object
) -> NotificationsPayload:
    changed, errors = await run_mutation(info, operation=operation, input=input, write=write)
    if errors:
        return NotificationsPayload(changed=0, unread_count=None, user_errors=errors)
    return NotificationsPayload(
        changed=len(changed or []), unread_count=await _unread(info, user_id), user_errors=[]
    )


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(
        description=(
            "Register this app install's push token, at every start (it moves to you if another "
            "account had it)."
        ),
        permission_classes=[allow(NOTIFICATION_OWNERS)],
    )
    async def register_device(self, info: Ctx, input: RegisterDeviceInput) -> DevicePayload | None:
        user_id = own_user_id(info)
        data = devices.Registration(
            platform=m.Platform(input.platform.value), token=input.token, app_version=input.app_version
        )
        write = partial(
            devices.register_device,
            user_id=user_id,
            data=data,
            max_devices=info.context.settings.notification_max_devices_per_user,
            now=dt.datetime.now(dt.UTC),
        )
        row, errors = await run_mutation(
            info, operation="registerDevice", input=input, write=write, reread=by_id(DeviceByIdLoader)
        )
        return DevicePayload(device=None if row is None else Device.from_row(row), user_errors=errors)

    @strawberry.mutation(
        description="Stop pushes to one of your devices (at sign-out).",
        permission_classes=[allow(NOTIFICATION_OWNERS)],
    )
    async def unregister_device(self, info: Ctx, input: UnregisterDeviceInput) -> DevicePayload | None:
        user_id = own_user_id(info)
        device_id = pk_of(input.id, "Device")
        if device_id is None:
            return DevicePayload(device=None, user_errors=not_an_id("id", "Device"))
        write = partial(devices.unregister_device, user_id=user_id, device_id=device_id)
        row, errors = await run_mutation(
            info, operation="unregisterDevice", input=input, write=write, reread=by_id(DeviceByIdLoader)
        )
        return DevicePayload(device=None if row is None else Device.from_row(row), user_errors=errors)

    @strawberry.mutation(
        description="Mark notifications read: some by id, or all (repeating it changes nothing).",
        permission_classes=[allow(NOTIFICATION_OWNERS)],
    )
    async def mark_notifications_read(
        self, info: Ctx, input: MarkNotificationsReadInput
    ) -> NotificationsPayload | None:
        user_id = own_user_id(info)
        errors: list[UserError] = []
        if input.all == (input.ids is not None):
            errors.append(UserError(field="ids", message="Give ids, or all: true.", code=ProblemCode.INVALID))
        pks = None if input.all else _notification_pks(input.ids or [], errors)
        if errors:
            return NotificationsPayload(changed=0, unread_count=None, user_errors=errors)
        write = partial(inbox.mark_read, user_id=user_id, ids=pks, now=dt.datetime.now(dt.UTC))
        return await _changed(info, user_id, write, "markNotificationsRead", input)

    @strawberry.mutation(
        description="Archive notifications: hidden from the centre (and its unread count), kept.",
        permission_classes=[allow(NOTIFICATION_OWNERS)],
    )
    async def archive_notifications(
        self, info: Ctx, input: ArchiveNotificationsInput
    ) -> NotificationsPayload | None:
        user_id = own_user_id(info)
        errors: list[UserError] = []
        pks = _notification_pks(input.ids, errors)
        if errors:
            return NotificationsPayload(changed=0, unread_count=None, user_errors=errors)
        write = partial(inbox.archive, user_id=user_id, ids=pks, now=dt.datetime.now(dt.UTC))
        return await _changed(info, user_id, write, "archiveNotifications", input)

    @strawberry.mutation(
        description="The app opened a notification: read, and counted once as opened for its campaign.",
        permission_classes=[allow(NOTIFICATION_OWNERS)],
    )
    async def open_notification(
        self, info: Ctx, input: OpenNotificationInput
    ) -> OpenNotificationPayload | None:
        user_id = own_user_id(info)
        pk = pk_of(input.id, "Notification")
        if pk is None:
            return OpenNotificationPayload(notification=None, user_errors=not_an_id("id", "Notification"))
        write = partial(inbox.mark_opened, user_id=user_id, notification_id=pk, now=dt.datetime.now(dt.UTC))
        opened, errors = await run_mutation(
            info, operation="openNotification", input=input, write=write, reread=stored_id
        )
        notification = None
        if opened is not None:
            found = await info.context.loader(NotificationByIdLoader).load(opened)
            notification = None if found is None else Notification.from_row(found)
        return OpenNotificationPayload(notification=notification, user_errors=errors)

    @strawberry.mutation(
        description="Change what you receive, over which channel, and when.",
        permission_classes=[allow(NOTIFICATION_OWNERS)],
    )
    async def update_notification_settings(
        self, info: Ctx, input: UpdateNotificationSettingsInput
    ) -> NotificationSettingsPayload | None:
        user_id = own_user_id(info)
        change = preferences.SettingsChange(
            preferences=[
                preferences.Preference(m.Channel(p.channel.value), m.Category(p.category.value), p.enabled)
                for p in input.preferences or []
            ],
            quiet_hours=None
            if input.quiet_hours is None
            else (input.quiet_hours.starts, input.quiet_hours.ends),
            clear_quiet_hours=input.clear_quiet_hours,
            time_zone=input.time_zone,
        )
        write = partial(preferences.update_settings, user_id=user_id, change=change)
        written, errors = await run_mutation(
            info, operation="updateNotificationSettings", input=input, write=write
        )
        settings = None if errors else await settings_of(info, user_id)
        return NotificationSettingsPayload(settings=settings, user_errors=errors)
