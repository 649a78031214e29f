"""Merchant category writes (admins): categories with unique names, retired rather than deleted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.merchants import MerchantCategory
from resolvers.audit import Actor, snapshot
from resolvers.merchants.writes import audited, check_pattern, check_unique, flush_unique, given
from resolvers.outcomes import Outcome, ProblemCode, Problems

ENTITY = "merchant_category"
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
# Column sizes of models/merchants.py.
LENGTHS = {"name": 100, "icon_name": 100, "description": 2000}


@dataclass(frozen=True, slots=True)
class CategoryFields:
    """Writable category fields; on update, None means "leave unchanged"."""

    name: str | None = None
    color_code: str | None = None
    icon_name: str | None = None
    description: str | None = None
    is_active: bool | None = None


def _validate_category(values: dict[str, Any], problems: Problems, *, creating: bool) -> None:
    if isinstance(values.get("color_code"), str) and not values["color_code"].strip():
        values["color_code"] = None  # a blank colour is no colour: the column's CHECK takes no blank
    for name, limit in LENGTHS.items():
        if creating or name in values:
            problems.require_length(name, values.get(name), max_length=limit, required=name == "name")
    check_pattern(problems, "color_code", values.get("color_code"), COLOR, "A hex colour, #RRGGBB.")


async def create_category(
    *, session: AsyncSession, actor: Actor, data: CategoryFields
) -> Outcome[MerchantCategory]:
    """Create a merchant category with a unique name."""
    values = given(data)
    problems = Problems()
    _validate_category(values, problems, creating=True)
    await check_unique(session, MerchantCategory.name, data.name, None, "name", problems)
    if problems:
        return Outcome.refused(problems)
    category = MerchantCategory(**values)
    session.add(category)
    if taken := await flush_unique(session, "name"):
        return Outcome.refused([taken])
    await audited(session, actor, category, entity=ENTITY, action="create", before=None)
    return Outcome(value=category, ref=("MerchantCategory", category.id))


async def update_category(
    *, session: AsyncSession, actor: Actor, category_id: int, data: CategoryFields
) -> Outcome[MerchantCategory]:
    """Change the given fields of a category (an inactive category takes no new merchants)."""
    category = await session.scalar(
        select(MerchantCategory).where(MerchantCategory.id == category_id).with_for_update()
    )
    if category is None:
        return Outcome.one_problem("id", "No such category.", ProblemCode.NOT_FOUND)
    changes = given(data)
    problems = Problems()
    _validate_category(changes, problems, creating=False)
    await check_unique(session, MerchantCategory.name, data.name, category.id, "name", problems)
    if problems:
        return Outcome.refused(problems)
    before = snapshot(category)
    for key, value in changes.items():
        setattr(category, key, value)
    if taken := await flush_unique(session, "name"):
        return Outcome.refused([taken])
    await audited(session, actor, category, entity=ENTITY, action="update", before=before)
    return Outcome(value=category, ref=("MerchantCategory", category.id))
