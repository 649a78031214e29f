"""Merchant mutations (admins): merchants, and `MerchantMutation`, every merchant-domain mutation.

Categories are in category_mutations.py, partnership terms in partnership_mutations.py.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from core.context import Ctx
from core.policies import MERCHANT_WRITERS
from loaders.merchants import MerchantByIdLoader
from resolvers.merchants import writes
from schema.merchants.category_mutations import MerchantCategoryMutation
from schema.merchants.partnership_mutations import PartnershipMutation
from schema.merchants.types import Merchant
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, by_id, not_an_id, pk_of, run_mutation
from schema.permissions import allow

# The loader shows every merchant, deactivated ones included: a replayed deactivation finds its merchant.
REREAD = by_id(MerchantByIdLoader)

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
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


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
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="A merchant to take out of the programme.")
class DeactivateMerchantInput:
    id: relay.GlobalID = strawberry.field(description="The merchant.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="The merchant as written, or why nothing was written.")
class MerchantPayload:
    merchant: Merchant | None = strawberry.field(description="The merchant after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _merchant_fields(data: Any, errors: list[UserError]) -> writes.MerchantFields:
    category_id = None
    if data.category_id is not None:
        category_id = pk_of(data.category_id, "MerchantCategory")
        if category_id is None:
            errors.extend(not_an_id("categoryId", "MerchantCategory"))
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


async def _merchant(info: Ctx, operation: str, input: Any, write: Any) -> MerchantPayload:
    row, errors = await run_mutation(info, operation=operation, input=input, write=write, reread=REREAD)
    return MerchantPayload(merchant=None if row is None else Merchant.from_row(row), user_errors=errors)


@strawberry.type
class MerchantRecordMutation:
    @strawberry.mutation(
        description="Create a merchant (admins).", permission_classes=[allow(MERCHANT_WRITERS)]
    )
    async def create_merchant(self, info: Ctx, input: CreateMerchantInput) -> MerchantPayload | None:
        errors: list[UserError] = []
        data = _merchant_fields(input, errors)
        if errors:
            return MerchantPayload(merchant=None, user_errors=errors)

        write = partial(writes.create_merchant, data=data)
        return await _merchant(info, "createMerchant", input, write)

    @strawberry.mutation(
        description="Change a merchant (admins).", permission_classes=[allow(MERCHANT_WRITERS)]
    )
    async def update_merchant(self, info: Ctx, input: UpdateMerchantInput) -> MerchantPayload | None:
        merchant_id = pk_of(input.id, "Merchant")
        errors: list[UserError] = [] if merchant_id is not None else not_an_id("id", "Merchant")
        data = _merchant_fields(input, errors)
        if errors or merchant_id is None:
            return MerchantPayload(merchant=None, user_errors=errors)

        write = partial(writes.update_merchant, merchant_id=merchant_id, data=data)
        return await _merchant(info, "updateMerchant", input, write)

    @strawberry.mutation(
        description="Take a merchant out of the programme (merchants are never deleted; admins).",
        permission_classes=[allow(MERCHANT_WRITERS)],
    )
    async def deactivate_merchant(self, info: Ctx, input: DeactivateMerchantInput) -> MerchantPayload | None:
        merchant_id = pk_of(input.id, "Merchant")
        if merchant_id is None:
            return MerchantPayload(merchant=None, user_errors=not_an_id("id", "Merchant"))

        write = partial(writes.deactivate_merchant, merchant_id=merchant_id)
        return await _merchant(info, "deactivateMerchant", input, write)


# Inherited fields come first, in the order of the bases: the schema lists merchants, categories, terms.
@strawberry.type
class MerchantMutation(MerchantRecordMutation, MerchantCategoryMutation, PartnershipMutation):
    pass
