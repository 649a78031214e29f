"""Placeholder: filled in by the issue-4 work on this domain."""

from __future__ import annotations

import strawberry


@strawberry.type
class MerchantMutation:
    pass
