"""Declarative base, naming convention and the column shapes every table shares."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, Identity, MetaData, Numeric, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so migrations and `alembic check` never see a rename.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Annotated[Decimal, "money"]
BigMoney = Annotated[Decimal, "big_money"]
Json = dict[str, Any]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        date: Date(),
        Money: Numeric(12, 2),
        # Sums of many amounts (daily revenue of a campaign) outgrow NUMERIC(12,2).
        BigMoney: Numeric(14, 2),
        Json: JSONB(),
        int: BigInteger(),
    }


# Every primary key: BIGINT GENERATED ALWAYS AS IDENTITY (ARCHITECTURE.md, "One ID type").
def identity_pk() -> Mapped[int]:
    return mapped_column(BigInteger, Identity(always=True), primary_key=True)


def created_at() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


# Kept current by the set_updated_at() trigger that the migrations attach to every table with this column.
def updated_at() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


def check_in(column: str, values: Iterable[str] | type[StrEnum], name: str | None = None) -> CheckConstraint:
    """A CHECK that `column` holds one of `values` (status, type and category columns)."""
    allowed = ", ".join(f"'{str(v)}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name or f"{column}_allowed")


def check_between(column: str, low: float, high: float, name: str | None = None) -> CheckConstraint:
    return CheckConstraint(f"{column} BETWEEN {low} AND {high}", name=name or f"{column}_range")


def check_non_negative(*columns: str) -> list[CheckConstraint]:
    return [CheckConstraint(f"{c} >= 0", name=f"{c}_non_negative") for c in columns]
