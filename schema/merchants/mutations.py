"""Merchant mutations (admins): merchants, categories and partnership terms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.scalars import JSON

from core.context import Ctx
from core.policies import MERCHANT_WRITERS
from loaders.merchants import MerchantByIdLoader
from models import merchants as m
from resolvers.audit import Actor
from resolvers.merchants import writes
from resolvers.outcomes import Outcome, ProblemCode
from schema.merchants.types import Merchant, MerchantCategory, Partnership, PartnershipType
from schema.mutation_runner import IDEMPOTENCY_KEY_DESCRIPTION, UserError, pk_of, run_mutation
from schema.permissions import allow

Write = Callable[[AsyncSession, Actor], Awaitable[Outcome[Any]]]

CODE = "Natural key used by partners and processors: unique, up to 50 letters, digits, '.', '_', '-'."
HOURS = 'Opening hours: an object keyed by day (mon..sun), e.g. {"mon": "09:00-17:00"}.'


@strawberry.input(description="A new merchant.")
class CreateMerchantInput:
    code: str = strawberry.field(description=CODE)
    name: str = strawberry.field(description="Display name (1-200 characters).")
    category_id: relay.GlobalID = strawberry.field(description="Its category (an active one).")
    latitude: float = strawberry.field(description="WGS84 latitude, -90 to 90.")
    longitude: float = strawberry.field(description="WGS84 longitude, -180 to 180.")
    description: str | None = strawberry.field(default=None, description="About it (up to 5000).")
    address: str | None = strawberry.field(default=None, description="Street address (up to 300).")
    city: str | None = strawberry.field(default=None, description="City (up to 100).")
    state: str | None = strawberry.field(default=None, description="State or region (up to 50).")
    zip_code: str | None = strawberry.field(default=None, description="Postal code (up to 20).")
    country: str | None = strawberry.field(default=None, description="Country (default United States).")
    phone: str | None = strawberry.field(default=None, description="Business phone, E.164 (+12125551234).")
    email: str | None = strawberry.field(default=None, description="Business email address.")
    website: str | None = strawberry.field(default=None, description="Web site, an http(s):// address.")
    operating_hours: JSON | None = strawberry.field(default=None, description=HOURS)
    rating: Decimal | None = strawberry.field(default=None, description="Average rating, 0 to 5.")
    is_featured: bool | None = strawberry.field(
        default=None, description="Featured in the apps (default no)."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="Changes to a merchant; omitted fields stay as they are.")
class UpdateMerchantInput:
    id: relay.GlobalID = strawberry.field(description="The merchant.")
    code: str | None = strawberry.field(default=None, description=CODE)
    name: str | None = strawberry.field(default=None, description="Display name (1-200 characters).")
    category_id: relay.GlobalID | None = strawberry.field(default=None, description="Its category (active).")
    latitude: float | None = strawberry.field(default=None, description="WGS84 latitude, -90 to 90.")
    longitude: float | None = strawberry.field(default=None, description="WGS84 longitude, -180 to 180.")
    description: str | None = strawberry.field(default=None, description="About it (up to 5000).")
    address: str | None = strawberry.field(default=None, description="Street address (up to 300).")
    city: str | None = strawberry.field(default=None, description="City (up to 100).")
    state: str | None = strawberry.field(default=None, description="State or region (up to 50).")
    zip_code: str | None = strawberry.field(default=None, description="Postal code (up to 20).")
    country: str | None = strawberry.field(default=None, description="Country (up to 100).")
    phone: str | None = strawberry.field(default=None, description="Business phone, E.164 (+12125551234).")
    email: str | None = strawberry.field(default=None, description="Business email address.")
    website: str | None = strawberry.field(default=None, description="Web site, an http(s):// address.")
    operating_hours: JSON | None = strawberry.field(default=None, description=HOURS)
    rating: Decimal | None = strawberry.field(default=None, description="Average rating, 0 to 5.")
    is_featured: bool | None = strawberry.field(default=None, description="Featured in the apps.")
    is_active: bool | None = strawberry.field(
        default=None, description="Back in the programme (true); deactivateMerchant takes it out."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="A merchant to take out of the programme.")
class DeactivateMerchantInput:
    id: relay.GlobalID = strawberry.field(description="The merchant.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="A new merchant category.")
class CreateMerchantCategoryInput:
    name: str = strawberry.field(description="Display name, unique (1-100 characters).")
    color_code: str | None = strawberry.field(default=None, description="Hex colour, #RRGGBB.")
    icon_name: str | None = strawberry.field(default=None, description="Icon the apps show (up to 100).")
    description: str | None = strawberry.field(default=None, description="What belongs in it (up to 2000).")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="Changes to a merchant category; omitted fields stay as they are.")
class UpdateMerchantCategoryInput:
    id: relay.GlobalID = strawberry.field(description="The category.")
    name: str | None = strawberry.field(default=None, description="Display name, unique (1-100 characters).")
    color_code: str | None = strawberry.field(default=None, description="Hex colour, #RRGGBB.")
    icon_name: str | None = strawberry.field(default=None, description="Icon the apps show (up to 100).")
    description: str | None = strawberry.field(default=None, description="What belongs in it (up to 2000).")
    is_active: bool | None = strawberry.field(default=None, description="Whether new merchants may use it.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="A merchant's partnership terms, replacing the current ones.")
class SetPartnershipInput:
    merchant_id: relay.GlobalID = strawberry.field(description="The merchant.")
    is_partner: bool = strawberry.field(default=True, description="Whether the partnership is in force.")
    partnership_type: PartnershipType | None = strawberry.field(default=None, description="Tier.")
    commission_rate: Decimal | None = strawberry.field(default=None, description="Commission, 0 to 100 %.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.type(description="The merchant as written, or why nothing was written.")
class MerchantPayload:
    merchant: Merchant | None = strawberry.field(description="The merchant after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="The category as written, or why nothing was written.")
class MerchantCategoryPayload:
    merchant_category: MerchantCategory | None = strawberry.field(
        description="The category after the change."
    )
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="The partnership terms as written, or why nothing was written.")
class PartnershipPayload:
    merchant: Merchant | None = strawberry.field(description="The merchant the terms belong to.")
    partnership: Partnership | None = strawberry.field(description="The terms after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _not(field: str, type_name: str) -> list[UserError]:
    return [UserError(field=field, message=f"Not a {type_name} id.", code=ProblemCode.NOT_FOUND)]


def _merchant_fields(data: Any, errors: list[UserError]) -> writes.MerchantFields:
    category_id = None
    if data.category_id is not None:
        category_id = pk_of(data.category_id, "MerchantCategory")
        if category_id is None:
            errors.extend(_not("categoryId", "MerchantCategory"))
    return writes.MerchantFields(
        code=data.code,
        name=data.name,
        description=data.description,
        category_id=category_id,
        latitude=data.latitude,
        longitude=data.longitude,
        address=data.address,
        city=data.city,
        state=data.state,
        zip_code=data.zip_code,
        country=data.country,
        phone=data.phone,
        email=data.email,
        website=data.website,
        operating_hours=data.operating_hours,
        rating=data.rating,
        is_featured=data.is_featured,
        is_active=getattr(data, "is_active", None),
    )


def _category_fields(data: Any) -> writes.CategoryFields:
    return writes.CategoryFields(
        name=data.name,
        color_code=data.color_code,
        icon_name=data.icon_name,
        description=data.description,
        is_active=getattr(data, "is_active", None),
    )


async def _merchant(info: Ctx, operation: str, input: Any, write: Write) -> MerchantPayload:
    async def reread(session: AsyncSession, ref: dict[str, Any]) -> m.Merchant | None:
        return await session.get(m.Merchant, ref["id"])

    row, errors = await run_mutation(info, operation=operation, input=input, write=write, reread=reread)
    return MerchantPayload(merchant=None if row is None else Merchant.from_row(row), user_errors=errors)


async def _category(info: Ctx, operation: str, input: Any, write: Write) -> MerchantCategoryPayload:
    async def reread(session: AsyncSession, ref: dict[str, Any]) -> m.MerchantCategory | None:
        return await session.get(m.MerchantCategory, ref["id"])

    row, errors = await run_mutation(info, operation=operation, input=input, write=write, reread=reread)
    category = None if row is None else MerchantCategory.from_row(row)
    return MerchantCategoryPayload(merchant_category=category, user_errors=errors)


async def _partnership_reread(session: AsyncSession, ref: dict[str, Any]) -> m.PreferredMerchant | None:
    return await session.scalar(
        select(m.PreferredMerchant).where(m.PreferredMerchant.merchant_id == ref["id"])
    )


@strawberry.type
class MerchantMutation:
    @strawberry.mutation(
        description="Create a merchant (admins).", permission_classes=[allow(MERCHANT_WRITERS)]
    )
    async def create_merchant(self, info: Ctx, input: CreateMerchantInput) -> MerchantPayload | None:
        errors: list[UserError] = []
        data = _merchant_fields(input, errors)
        if errors:
            return MerchantPayload(merchant=None, user_errors=errors)

        async def write(session: AsyncSession, actor: Actor) -> Outcome[m.Merchant]:
            return await writes.create_merchant(session=session, actor=actor, data=data)

        return await _merchant(info, "createMerchant", input, write)

    @strawberry.mutation(
        description="Change a merchant (admins).", permission_classes=[allow(MERCHANT_WRITERS)]
    )
    async def update_merchant(self, info: Ctx, input: UpdateMerchantInput) -> MerchantPayload | None:
        merchant_id = pk_of(input.id, "Merchant")
        errors: list[UserError] = [] if merchant_id is not None else _not("id", "Merchant")
        data = _merchant_fields(input, errors)
        if errors or merchant_id is None:
            return MerchantPayload(merchant=None, user_errors=errors)

        async def write(session: AsyncSession, actor: Actor) -> Outcome[m.Merchant]:
            return await writes.update_merchant(
                session=session, actor=actor, merchant_id=merchant_id, data=data
            )

        return await _merchant(info, "updateMerchant", input, write)

    @strawberry.mutation(
        description="Take a merchant out of the programme (merchants are never deleted; admins).",
        permission_classes=[allow(MERCHANT_WRITERS)],
    )
    async def deactivate_merchant(self, info: Ctx, input: DeactivateMerchantInput) -> MerchantPayload | None:
        merchant_id = pk_of(input.id, "Merchant")
        if merchant_id is None:
            return MerchantPayload(merchant=None, user_errors=_not("id", "Merchant"))

        async def write(session: AsyncSession, actor: Actor) -> Outcome[m.Merchant]:
            return await writes.deactivate_merchant(session=session, actor=actor, merchant_id=merchant_id)

        return await _merchant(info, "deactivateMerchant", input, write)

    @strawberry.mutation(
        description="Create a merchant category (admins).", permission_classes=[allow(MERCHANT_WRITERS)]
    )
    async def create_merchant_category(
        self, info: Ctx, input: CreateMerchantCategoryInput
    ) -> MerchantCategoryPayload | None:
        data = _category_fields(input)

        async def write(session: AsyncSession, actor: Actor) -> Outcome[m.MerchantCategory]:
            return await writes.create_category(session=session, actor=actor, data=data)

        return await _category(info, "createMerchantCategory", input, write)

    @strawberry.mutation(
        description="Change a merchant category, or retire it with isActive: false (admins).",
        permission_classes=[allow(MERCHANT_WRITERS)],
    )
    async def update_merchant_category(
        self, info: Ctx, input: UpdateMerchantCategoryInput
    ) -> MerchantCategoryPayload | None:
        category_id = pk_of(input.id, "MerchantCategory")
        if category_id is None:
            return MerchantCategoryPayload(merchant_category=None, user_errors=_not("id", "MerchantCategory"))
        data = _category_fields(input)

        async def write(session: AsyncSession, actor: Actor) -> Outcome[m.MerchantCategory]:
            return await writes.update_category(
                session=session, actor=actor, category_id=category_id, data=data
            )

        return await _category(info, "updateMerchantCategory", input, write)

    @strawberry.mutation(
        description="Set a merchant's partnership terms, creating them if needed (admins).",
        permission_classes=[allow(MERCHANT_WRITERS)],
    )
    async def set_partnership(self, info: Ctx, input: SetPartnershipInput) -> PartnershipPayload | None:
        merchant_id = pk_of(input.merchant_id, "Merchant")
        if merchant_id is None:
            return PartnershipPayload(
                merchant=None, partnership=None, user_errors=_not("merchantId", "Merchant")
            )
        kind = None if input.partnership_type is None else m.PartnershipType(input.partnership_type)

        async def write(session: AsyncSession, actor: Actor) -> Outcome[m.PreferredMerchant]:
            return await writes.set_partnership(
                session=session,
                actor=actor,
                merchant_id=merchant_id,
                is_partner=input.is_partner,
                partnership_type=kind,
                commission_rate=input.commission_rate,
            )

        row, errors = await run_mutation(
            info, operation="setPartnership", input=input, write=write, reread=_partnership_reread
        )
        if row is None:
            return PartnershipPayload(merchant=None, partnership=None, user_errors=errors)
        merchant = await info.context.loader(MerchantByIdLoader).load(row.merchant_id)
        return PartnershipPayload(
            merchant=None if merchant is None else Merchant.from_row(merchant),
            partnership=Partnership.from_row(row),
            user_errors=errors,
        )
