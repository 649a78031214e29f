"""Who is asking: the viewer of a request, and the roles of the API."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MARKETER = "marketer"
    ANALYST = "analyst"
    MERCHANT = "merchant"
    CUSTOMER = "customer"
    SERVICE = "service"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Viewer:
    role: Role
    user_id: int | None = None
    # Set for merchant staff (and merchant-scoped API keys): every row they see belongs to it.
    merchant_id: int | None = None
    # Set for API-key callers, so rate limits, idempotency scopes and audit rows tell keys apart.
    api_key_id: int | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.role is not Role.ANONYMOUS

    @property
    def label(self) -> str:
        """How audit rows and logs name this viewer (never an email)."""
        if self.user_id is not None:
            return f"user:{self.user_id}"
        if self.api_key_id is not None:
            return f"api_key:{self.api_key_id}"
        return self.role.value


ANONYMOUS = Viewer(role=Role.ANONYMOUS)
