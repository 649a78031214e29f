"""Merchant category mutations (admins): create a category, change or retire it."""

from __future__ import annotations

from functools import partial
from typing import Any

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import MERCHANT_WRITERS
from loaders.merchants import MerchantCategoryByIdLoader
from resolvers.merchants import category_writes as writes
from schema.merchants.types import MerchantCategory
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, by_id, not_an_id, pk_of, run_mutation
from schema.permissions import allow

# The loader shows every category, retired ones included.
REREAD = by_id(MerchantCategoryByIdLoader)


@strawberry.input(description="A new merchant category.")
class CreateMerchantCategoryInput:
    name: str = strawberry.field(description="Display name, unique (1-100 characters).")
    color_code: str | None = strawberry.field(default=None, description="Hex colour, #RRGGBB.")
    icon_name: str | None = strawberry.field(default=None, description="Icon the apps show (up to 100).")
    description: str | None = strawberry.field(default=None, description="What belongs in it (up to 2000).")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="Changes to a merchant category; omitted fields stay as they are.")
class UpdateMerchantCategoryInput:
    id: relay.GlobalID = strawberry.field(description="The category.")
    name: str | None = strawberry.field(default=None, description="Display name, unique (1-100 characters).")
    color_code: str | None = strawberry.field(default=None, description="Hex colour, #RRGGBB.")
    icon_name: str | None = strawberry.field(default=None, description="Icon the apps show (up to 100).")
    description: str | None = strawberry.field(default=None, description="What belongs in it (up to 2000).")
    is_active: bool | None = strawberry.field(default=None, description="Whether new merchants may use it.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="The category as written, or why nothing was written.")
class MerchantCategoryPayload:
    merchant_category: MerchantCategory | None = strawberry.field(
        description="The category after the change."
    )
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _category_fields(data: Any) -> writes.CategoryFields:
    return writes.CategoryFields(
        name=data.name,
        color_code=data.color_code,
        icon_name=data.icon_name,
        description=data.description,
        is_active=getattr(data, "is_active", None),
    )


async def _category(info: Ctx, operation: str, input: Any, write: Any) -> MerchantCategoryPayload:
    row, errors = await run_mutation(info, operation=operation, input=input, write=write, reread=REREAD)
    category = None if row is None else MerchantCategory.from_row(row)
    return MerchantCategoryPayload(merchant_category=category, user_errors=errors)


@strawberry.type
class MerchantCategoryMutation:
    @strawberry.mutation(
        description="Create a merchant category (admins).", permission_classes=[allow(MERCHANT_WRITERS)]
    )
    async def create_merchant_category(
        self, info: Ctx, input: CreateMerchantCategoryInput
    ) -> MerchantCategoryPayload | None:
        data = _category_fields(input)

        write = partial(writes.create_category, data=data)
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
            return MerchantCategoryPayload(
                merchant_category=None, user_errors=not_an_id("id", "MerchantCategory")
            )

        write = partial(writes.update_category, category_id=category_id, data=_category_fields(input))
        return await _category(info, "updateMerchantCategory", input, write)
