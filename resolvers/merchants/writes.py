"""Merchant writes (admins): merchants and their partnership terms, each change audited; the checks
every merchant-domain write shares (unique columns, patterns, the audit row)."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.merchants import Merchant, MerchantCategory, PartnershipType, PreferredMerchant
from resolvers.audit import Actor, record_change, snapshot
from resolvers.outcomes import Outcome, Problem, ProblemCode, Problems

UNIQUE_VIOLATION = "23505"
ENTITY = "merchant"
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")  # E.164, as for users
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WEBSITE = re.compile(r"^https?://\S+$")
DAYS = frozenset(
    {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    | {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
)
# Column sizes of models/merchants.py.
LENGTHS = {
    "code": 50,
    "name": 200,
    "description": 5000,
    "address": 300,
    "city": 100,
    "state": 50,
    "zip_code": 20,
    "country": 100,
    "email": 320,
    "website": 300,
}


@dataclass(frozen=True, slots=True)
class MerchantFields:
    """Writable merchant fields; on update, None means "leave unchanged"."""

    code: str | None = None
    name: str | None = None
    description: str | None = None
    category_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    zip_code: str | None = None
    country: str | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    operating_hours: Any = None
    rating: Decimal | None = None
    is_featured: bool | None = None
    is_active: bool | None = None


def given(data: Any) -> dict[str, Any]:
    """The fields of `data` that were given (not None)."""
    return {f.name: getattr(data, f.name) for f in fields(data) if getattr(data, f.name) is not None}


def check_pattern(
    problems: Problems, field: str, value: str | None, pattern: re.Pattern[str], hint: str
) -> None:
    """Refuse a non-blank value that does not match `pattern`."""
    if value is not None and value.strip() and not pattern.match(value):
        problems.add(field, hint, ProblemCode.INVALID)


def _validate_merchant(values: dict[str, Any], problems: Problems, *, creating: bool) -> None:
    """Check the given values (on update only the changed ones: old rows may predate a rule)."""
    for name, limit in LENGTHS.items():
        if creating or name in values:
            problems.require_length(
                name, values.get(name), max_length=limit, required=name in ("code", "name")
            )
    check_pattern(problems, "code", values.get("code"), CODE, "Letters, digits, '.', '_' or '-'.")
    check_pattern(problems, "phone", values.get("phone"), PHONE, "An E.164 number, e.g. +12125551234.")
    check_pattern(problems, "email", values.get("email"), EMAIL, "Not an email address.")
    check_pattern(problems, "website", values.get("website"), WEBSITE, "An http(s):// address.")
    for name in ("latitude", "longitude"):
        if creating and values.get(name) is None:
            problems.add(name, "Required.", ProblemCode.REQUIRED)
    problems.require_range("latitude", values.get("latitude"), low=-90, high=90)
    problems.require_range("longitude", values.get("longitude"), low=-180, high=180)
    problems.require_range("rating", values.get("rating"), low=Decimal(0), high=Decimal(5))
    hours = values.get("operating_hours")
    if hours is not None and (not isinstance(hours, dict) or not set(hours) <= DAYS):
        problems.add(
            "operating_hours", 'An object keyed by day, e.g. {"mon": "09:00-17:00"}.', ProblemCode.INVALID
        )


async def _check_category(session: AsyncSession, category_id: int | None, problems: Problems) -> None:
    if category_id is None:
        return
    category = await session.get(MerchantCategory, category_id)
    if category is None:
        problems.add("category_id", "No such category.", ProblemCode.NOT_FOUND)
    elif not category.is_active:
        problems.add("category_id", "The category is inactive.", ProblemCode.INVALID)


async def check_unique(
    session: AsyncSession, column: Any, value: Any, own_id: int | None, field: str, problems: Problems
) -> None:
    """Refuse a value another row of `column`'s table already holds."""
    if value is None:
        return
    query = select(column.class_.id).where(column == value)
    if own_id is not None:
        query = query.where(column.class_.id != own_id)
    if await session.scalar(query.limit(1)) is not None:
        problems.add(field, "Already taken.", ProblemCode.TAKEN)


async def flush_unique(session: AsyncSession, field: str) -> Problem | None:
    """Flush in a savepoint: a unique violation (a concurrent write won the race) becomes TAKEN."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) != UNIQUE_VIOLATION:
            raise
        return Problem(field, "Already taken.", ProblemCode.TAKEN)
    return None


async def audited(
    session: AsyncSession, actor: Actor, row: Any, *, entity: str, action: str, before: dict[str, Any] | None
) -> None:
    """Record the change of `row` (merchant or merchant_category) with its state before and after."""
    await session.refresh(row)
    await record_change(
        session,
        actor=actor,
        action=f"{entity}.{action}",
        entity_type=entity,
        entity_id=row.id,
        before=before,
        after=snapshot(row),
    )


async def create_merchant(*, session: AsyncSession, actor: Actor, data: MerchantFields) -> Outcome[Merchant]:
    """Create a merchant in an active category, with a unique code."""
    values = given(data)
    problems = Problems()
    if data.category_id is None:
        problems.add("category_id", "Required.", ProblemCode.REQUIRED)
    _validate_merchant(values, problems, creating=True)
    await _check_category(session, data.category_id, problems)
    await check_unique(session, Merchant.code, data.code, None, "code", problems)
    if problems:
        return Outcome.refused(problems)
    merchant = Merchant(**values)
    session.add(merchant)
    if taken := await flush_unique(session, "code"):
        return Outcome.refused([taken])
    await audited(session, actor, merchant, entity=ENTITY, action="create", before=None)
    return Outcome(value=merchant, ref=("Merchant", merchant.id))


async def _locked_merchant(session: AsyncSession, merchant_id: int) -> Merchant | None:
    # FOR UPDATE: concurrent edits of one merchant apply one after the other, and each audit row's
    # "before" is the state the change was made to.
    return await session.scalar(select(Merchant).where(Merchant.id == merchant_id).with_for_update())


async def update_merchant(
    *, session: AsyncSession, actor: Actor, merchant_id: int, data: MerchantFields
) -> Outcome[Merchant]:
    """Change the given fields of a merchant."""
    merchant = await _locked_merchant(session, merchant_id)
    if merchant is None:
        return Outcome.one_problem("id", "No such merchant.", ProblemCode.NOT_FOUND)
    changes = given(data)
    problems = Problems()
    _validate_merchant(changes, problems, creating=False)
    if data.category_id is not None and data.category_id != merchant.category_id:
        await _check_category(session, data.category_id, problems)
    await check_unique(session, Merchant.code, data.code, merchant.id, "code", problems)
    if problems:
        return Outcome.refused(problems)
    before = snapshot(merchant)
    for key, value in changes.items():
        setattr(merchant, key, value)
    if taken := await flush_unique(session, "code"):
        return Outcome.refused([taken])
    await audited(session, actor, merchant, entity=ENTITY, action="update", before=before)
    return Outcome(value=merchant, ref=("Merchant", merchant.id))


async def deactivate_merchant(*, session: AsyncSession, actor: Actor, merchant_id: int) -> Outcome[Merchant]:
    """Take a merchant out of the programme (merchants are never deleted: staff and history refer to them)."""
    merchant = await _locked_merchant(session, merchant_id)
    if merchant is None:
        return Outcome.one_problem("id", "No such merchant.", ProblemCode.NOT_FOUND)
    if merchant.is_active:
        before = snapshot(merchant)
        merchant.is_active = False
        await session.flush()
        await audited(session, actor, merchant, entity=ENTITY, action="deactivate", before=before)
    return Outcome(value=merchant, ref=("Merchant", merchant.id))


async def set_partnership(
    *,
    session: AsyncSession,
    actor: Actor,
    merchant_id: int,
    is_partner: bool,
    partnership_type: PartnershipType | None,
    commission_rate: Decimal | None,
) -> Outcome[PreferredMerchant]:
    """Create or replace a merchant's partnership terms (the performance counters are kept)."""
    problems = Problems()
    problems.require_range("commission_rate", commission_rate, low=Decimal(0), high=Decimal(100))
    if problems:
        return Outcome.refused(problems)
    # Locking the merchant serialises every change of its terms, so "before" is exact even when the
    # partnership row does not exist yet.
    if await _locked_merchant(session, merchant_id) is None:
        return Outcome.one_problem("merchant_id", "No such merchant.", ProblemCode.NOT_FOUND)
    current = await session.scalar(
        select(PreferredMerchant).where(PreferredMerchant.merchant_id == merchant_id)
    )
    before = None if current is None else snapshot(current)
    terms = {
        "is_partner": is_partner,
        "partnership_type": None if partnership_type is None else partnership_type.value,
        "commission_rate": commission_rate,
    }
    statement = (
        insert(PreferredMerchant)
        .values(merchant_id=merchant_id, **terms)
        .on_conflict_do_update(index_elements=[PreferredMerchant.merchant_id], set_=terms)
        .returning(PreferredMerchant.id)
    )
    row_id = await session.scalar(statement)
    row = await session.get(PreferredMerchant, row_id, populate_existing=True)
    assert row is not None
    await record_change(
        session,
        actor=actor,
        action="merchant.partnership",
        entity_type=ENTITY,
        entity_id=merchant_id,
        before=before,
        after=snapshot(row),
    )
    return Outcome(value=row, ref=("Merchant", merchant_id))
