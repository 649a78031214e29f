"""Campaign mutations: create, update, the lifecycle transitions, delete."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial
from typing import Any

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import CAMPAIGN_WRITERS
from loaders.campaigns import CampaignByIdLoader
from models import campaigns as m
from resolvers.campaigns import writes
from resolvers.outcomes import ProblemCode
from schema.campaigns.types import Campaign, CampaignType
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, by_id, pk_of, run_mutation, stored_id
from schema.permissions import allow

# Campaign writers are staff, whose campaign visibility is unfiltered: the loader finds what was written.
REREAD = by_id(CampaignByIdLoader)


@strawberry.input(description="A new campaign; it starts as a DRAFT.")
class CreateCampaignInput:
    name: str = strawberry.field(description="Display name (1-200 characters).")
    type: CampaignType = strawberry.field(description="Channel and mechanics.")
    description: str | None = strawberry.field(default=None, description="What it offers (up to 5000).")
    starts_at: dt.datetime | None = strawberry.field(default=None, description="Start (UTC).")
    ends_at: dt.datetime | None = strawberry.field(default=None, description="End (UTC), after the start.")
    budget: Decimal | None = strawberry.field(default=None, description="Budget in USD, 0 or more.")
    cashback_percent: Decimal | None = strawberry.field(default=None, description="0-100, CASHBACK only.")
    merchant_id: relay.GlobalID | None = strawberry.field(default=None, description="The promoted merchant.")
    target_segment: str | None = strawberry.field(default=None, description="Audience segment (up to 100).")
    send_at_once: bool | None = strawberry.field(
        default=None,
        description="Push and e-mail campaigns: notify everyone at start, not at each one's best time.",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="Changes to a campaign that has not finished; omitted fields stay as they are.")
class UpdateCampaignInput:
    id: relay.GlobalID = strawberry.field(description="The campaign.")
    name: str | None = strawberry.field(default=None, description="Display name (1-200 characters).")
    type: CampaignType | None = strawberry.field(default=None, description="Channel and mechanics.")
    description: str | None = strawberry.field(default=None, description="What it offers (up to 5000).")
    starts_at: dt.datetime | None = strawberry.field(default=None, description="Start (UTC).")
    ends_at: dt.datetime | None = strawberry.field(default=None, description="End (UTC), after the start.")
    budget: Decimal | None = strawberry.field(default=None, description="Budget in USD, 0 or more.")
    cashback_percent: Decimal | None = strawberry.field(default=None, description="0-100, CASHBACK only.")
    merchant_id: relay.GlobalID | None = strawberry.field(default=None, description="The promoted merchant.")
    target_segment: str | None = strawberry.field(default=None, description="Audience segment (up to 100).")
    send_at_once: bool | None = strawberry.field(
        default=None,
        description="Push and e-mail campaigns: notify everyone at start, not at each one's best time.",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="A campaign to move along its lifecycle, or to delete.")
class CampaignIdInput:
    id: relay.GlobalID = strawberry.field(description="The campaign.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="The campaign as written, or why nothing was written.")
class CampaignPayload:
    campaign: Campaign | None = strawberry.field(description="The campaign after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="The deleted campaign's id, or why nothing was deleted.")
class DeleteCampaignPayload:
    deleted_campaign_id: relay.GlobalID | None = strawberry.field(
        description="Global id of the deleted draft."
    )
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _fields(data: Any, problems: list[UserError]) -> writes.CampaignFields:
    merchant_id = None
    if data.merchant_id is not None:
        merchant_id = pk_of(data.merchant_id, "Merchant")
        if merchant_id is None:
            problems.append(
                UserError(field="merchantId", message="Not a Merchant id.", code=ProblemCode.NOT_FOUND)
            )
    return writes.CampaignFields(
        name=data.name,
        description=data.description,
        type=None if data.type is None else m.CampaignType(data.type),
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        budget=data.budget,
        cashback_percent=data.cashback_percent,
        merchant_id=merchant_id,
        target_segment=data.target_segment,
        send_at_once=data.send_at_once,
    )


def _payload(row: m.Campaign | None, errors: list[UserError]) -> CampaignPayload:
    return CampaignPayload(campaign=None if row is None else Campaign.from_row(row), user_errors=errors)


def _missing() -> CampaignPayload:
    return CampaignPayload(
        campaign=None,
        user_errors=[UserError(field="id", message="Not a Campaign id.", code=ProblemCode.NOT_FOUND)],
    )


async def _transition(
    info: Ctx, input: CampaignIdInput, target: m.CampaignStatus, name: str
) -> CampaignPayload:
    campaign_id = pk_of(input.id, "Campaign")
    if campaign_id is None:
        return _missing()

    write = partial(
        writes.transition_campaign, campaign_id=campaign_id, target=target, now=dt.datetime.now(dt.UTC)
    )
    row, errors = await run_mutation(info, operation=name, input=input, write=write, reread=REREAD)
    return _payload(row, errors)


@strawberry.type
class CampaignMutation:
    @strawberry.mutation(
        description="Create a campaign as a DRAFT.", permission_classes=[allow(CAMPAIGN_WRITERS)]
    )
    async def create_campaign(self, info: Ctx, input: CreateCampaignInput) -> CampaignPayload | None:
        problems: list[UserError] = []
        data = _fields(input, problems)
        if problems:
            return _payload(None, problems)

        write = partial(writes.create_campaign, data=data)
        row, errors = await run_mutation(
            info, operation="createCampaign", input=input, write=write, reread=REREAD
        )
        return _payload(row, errors)

    @strawberry.mutation(
        description="Change a campaign that has not finished.", permission_classes=[allow(CAMPAIGN_WRITERS)]
    )
    async def update_campaign(self, info: Ctx, input: UpdateCampaignInput) -> CampaignPayload | None:
        campaign_id = pk_of(input.id, "Campaign")
        problems: list[UserError] = []
        data = _fields(input, problems)
        if campaign_id is None:
            return _missing()
        if problems:
            return _payload(None, problems)

        write = partial(writes.update_campaign, campaign_id=campaign_id, data=data)
        row, errors = await run_mutation(
            info, operation="updateCampaign", input=input, write=write, reread=REREAD
        )
        return _payload(row, errors)

    @strawberry.mutation(
        description="DRAFT → SCHEDULED (starts in the future).", permission_classes=[allow(CAMPAIGN_WRITERS)]
    )
    async def schedule_campaign(self, info: Ctx, input: CampaignIdInput) -> CampaignPayload | None:
        return await _transition(info, input, m.CampaignStatus.SCHEDULED, "scheduleCampaign")

    @strawberry.mutation(
        description="DRAFT, SCHEDULED or PAUSED → RUNNING.", permission_classes=[allow(CAMPAIGN_WRITERS)]
    )
    async def start_campaign(self, info: Ctx, input: CampaignIdInput) -> CampaignPayload | None:
        return await _transition(info, input, m.CampaignStatus.RUNNING, "startCampaign")

    @strawberry.mutation(description="RUNNING → PAUSED.", permission_classes=[allow(CAMPAIGN_WRITERS)])
    async def pause_campaign(self, info: Ctx, input: CampaignIdInput) -> CampaignPayload | None:
        return await _transition(info, input, m.CampaignStatus.PAUSED, "pauseCampaign")

    @strawberry.mutation(
        description="RUNNING or PAUSED → COMPLETED (final).", permission_classes=[allow(CAMPAIGN_WRITERS)]
    )
    async def complete_campaign(self, info: Ctx, input: CampaignIdInput) -> CampaignPayload | None:
        return await _transition(info, input, m.CampaignStatus.COMPLETED, "completeCampaign")

    @strawberry.mutation(
        description="DRAFT, SCHEDULED or COMPLETED → ARCHIVED.", permission_classes=[allow(CAMPAIGN_WRITERS)]
    )
    async def archive_campaign(self, info: Ctx, input: CampaignIdInput) -> CampaignPayload | None:
        return await _transition(info, input, m.CampaignStatus.ARCHIVED, "archiveCampaign")

    @strawberry.mutation(
        description="Delete a DRAFT (archive anything else).", permission_classes=[allow(CAMPAIGN_WRITERS)]
    )
    async def delete_campaign(self, info: Ctx, input: CampaignIdInput) -> DeleteCampaignPayload | None:
        campaign_id = pk_of(input.id, "Campaign")
        if campaign_id is None:
            return DeleteCampaignPayload(deleted_campaign_id=None, user_errors=_missing().user_errors)

        write = partial(writes.delete_campaign, campaign_id=campaign_id)
        deleted, errors = await run_mutation(
            info, operation="deleteCampaign", input=input, write=write, reread=stored_id
        )
        gid = None if deleted is None else relay.GlobalID("Campaign", str(deleted))
        return DeleteCampaignPayload(deleted_campaign_id=gid, user_errors=errors)
