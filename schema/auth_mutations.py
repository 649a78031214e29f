"""Placeholder: filled in by the issue-5 work on authentication."""

from __future__ import annotations

import strawberry


@strawberry.type
class AuthMutation:
    pass
