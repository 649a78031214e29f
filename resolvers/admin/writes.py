"""Admin writes: runtime settings, each change audited with its value before and after."""

from __future__ import annotations

import re
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from models.admin import Setting
from resolvers.audit import Actor, record_change, snapshot
from resolvers.outcomes import Outcome, ProblemCode, Problems

# The settings_key_slug CHECK of models/admin.py, so a bad key is a userError, not a 500.
KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
KEY_MAX, DESCRIPTION_MAX = 100, 2000
# Settings are small configuration documents, read on many requests: keep them small.
VALUE_MAX_BYTES = 64 * 1024


def _validate(key: str, value: Any, description: str | None) -> Problems:
    problems = Problems()
    problems.require_length("key", key, max_length=KEY_MAX, required=True)
    if key and not KEY.match(key):
        problems.add("key", "Lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.")
    if value is None:
        problems.add("value", "Required (a JSON value other than null).", ProblemCode.REQUIRED)
    elif len(orjson.dumps(value)) > VALUE_MAX_BYTES:
        problems.add("value", f"At most {VALUE_MAX_BYTES} bytes of JSON.", ProblemCode.TOO_LONG)
    problems.require_length("description", description, max_length=DESCRIPTION_MAX)
    return problems


def _same(a: Any, b: Any) -> bool:
    # Compared as JSON: in Python True == 1, in a setting they differ.
    return orjson.dumps(a, option=orjson.OPT_SORT_KEYS) == orjson.dumps(b, option=orjson.OPT_SORT_KEYS)


async def _locked(session: AsyncSession, key: str) -> Setting | None:
    return await session.scalar(
        select(Setting).where(Setting.key == key).with_for_update().execution_options(populate_existing=True)
    )


async def update_setting(
    *, session: AsyncSession, actor: Actor, key: str, value: Any, description: str | None
) -> Outcome[Setting]:
    """Create or change a setting; a description left out keeps the current one."""
    problems = _validate(key, value, description)
    if problems:
        return Outcome.refused(problems)
    row = await _locked(session, key)
    if row is None:
        # ON CONFLICT DO NOTHING: if a parallel request created the key first, fall through to update it
        # under its row lock, so neither change is lost and each audit row has the right "before".
        created_id = await session.scalar(
            insert(Setting)
            .values(key=key, value=value, description=description, updated_by=actor.label)
            .on_conflict_do_nothing(index_elements=[Setting.key])
            .returning(Setting.id)
        )
        if created_id is not None:
            created = await session.get(Setting, created_id)
            assert created is not None
            await record_change(
                session,
                actor=actor,
                action="setting.create",
                entity_type="setting",
                entity_id=created.id,
                after=snapshot(created),
            )
            return Outcome(value=created, ref=("Setting", created.id))
        row = await _locked(session, key)
        assert row is not None
    if _same(row.value, value) and (description is None or description == row.description):
        return Outcome(value=row, ref=("Setting", row.id))
    before = snapshot(row)
    row.value = value
    flag_modified(row, "value")  # the ORM compares with ==, which sees no change from 1 to true
    if description is not None:
        row.description = description
    row.updated_by = actor.label
    await session.flush()
    await session.refresh(row)
    await record_change(
        session,
        actor=actor,
        action="setting.update",
        entity_type="setting",
        entity_id=row.id,
        before=before,
        after=snapshot(row),
    )
    return Outcome(value=row, ref=("Setting", row.id))
