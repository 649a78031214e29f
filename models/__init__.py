"""SQLAlchemy models: one module per domain. Importing this package registers every table."""

from models import (
    admin,
    analytics,
    auth,
    campaigns,
    experiments,
    flags,
    merchants,
    ml,
    notifications,
    users,
)
from models.base import Base

__all__ = [
    "Base",
    "admin",
    "analytics",
    "auth",
    "campaigns",
    "experiments",
    "flags",
    "merchants",
    "ml",
    "notifications",
    "users",
]
