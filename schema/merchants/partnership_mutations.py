"""Partnership mutations (admins): a merchant's partnership terms, created or replaced."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import MERCHANT_WRITERS
from loaders.merchants import MerchantByIdLoader, PartnershipByMerchantLoader
from models import merchants as m
from resolvers.merchants import writes
from schema.merchants.types import Merchant, Partnership, PartnershipType
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, by_id, not_an_id, pk_of, run_mutation
from schema.permissions import allow

# The write stores the merchant's id, the loader's key. Merchant writers are staff, who see every
# merchant's terms.
REREAD = by_id(PartnershipByMerchantLoader)


@strawberry.input(description="A merchant's partnership terms, replacing the current ones.")
class SetPartnershipInput:
    merchant_id: relay.GlobalID = strawberry.field(description="The merchant.")
    is_partner: bool = strawberry.field(default=True, description="Whether the partnership is in force.")
    partnership_type: PartnershipType | None = strawberry.field(default=None, description="Tier.")
    commission_rate: Decimal | None = strawberry.field(default=None, description="Commission, 0 to 100 %.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="The partnership terms as written, or why nothing was written.")
class PartnershipPayload:
    merchant: Merchant | None = strawberry.field(description="The merchant the terms belong to.")
    partnership: Partnership | None = strawberry.field(description="The terms after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type
class PartnershipMutation:
    @strawberry.mutation(
        description="Set a merchant's partnership terms, creating them if needed (admins).",
        permission_classes=[allow(MERCHANT_WRITERS)],
    )
    async def set_partnership(self, info: Ctx, input: SetPartnershipInput) -> PartnershipPayload | None:
        merchant_id = pk_of(input.merchant_id, "Merchant")
        if merchant_id is None:
            errors = not_an_id("merchantId", "Merchant")
            return PartnershipPayload(merchant=None, partnership=None, user_errors=errors)

        kind = None if input.partnership_type is None else m.PartnershipType(input.partnership_type)
        write = partial(
            writes.set_partnership,
            merchant_id=merchant_id,
            is_partner=input.is_partner,
            partnership_type=kind,
            commission_rate=input.commission_rate,
        )
        row, errors = await run_mutation(
            info, operation="setPartnership", input=input, write=write, reread=REREAD
        )
        if row is None:
            return PartnershipPayload(merchant=None, partnership=None, user_errors=errors)
        merchant = await info.context.loader(MerchantByIdLoader).load(row.merchant_id)
        return PartnershipPayload(
            merchant=None if merchant is None else Merchant.from_row(merchant),
            partnership=Partnership.from_row(row),
            user_errors=errors,
        )
