"""The one schema: every domain's root fields merged, built for Federation v2."""

from __future__ import annotations

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.federation import Schema

from schema.flags import FlagQuery
from schema.merchants import MerchantQuery


@strawberry.type(description="Read access to the SwipeSavvy platform.")
class Query(MerchantQuery, FlagQuery):
    pass


def build_schema() -> Schema:
    # Without the two caches, validation is ~90% of Strawberry's per-request cost (ARCHITECTURE.md).
    return Schema(query=Query, extensions=[ParserCache, ValidationCache])


schema = build_schema()
