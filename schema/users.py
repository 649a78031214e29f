"""GraphQL types and root fields of the users domain (profile, accounts, transactions, rewards)."""

from __future__ import annotations

import strawberry


@strawberry.type
class UserQuery:
    pass
