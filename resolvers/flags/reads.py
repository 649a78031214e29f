"""Feature-flag reads: the filtered flag list, one flag, a variant group, audit pages and evaluation of
many flags (from the worker's snapshot, or from the database when none runs)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, Select, not_, select

from core.context import RequestContext
from core.errors import BadUserInput
from core.metrics_hooks import cache_lookup
from core.viewer import Viewer
from loaders.base import Reader
from loaders.flags import (
    FLAG_COLUMNS,
    AuditWindow,
    FeatureFlagByIdLoader,
    RolloutsByFlagLoader,
    flags_visible_to,
)
from models.flags import FeatureFlag, FlagRollout
from resolvers.flags.evaluation import Evaluation, evaluate_flag, flag_not_found
from resolvers.flags.lifetimes import stale_condition
from resolvers.flags.live_flags import live_flags
from resolvers.flags.snapshot import EVALUATION_COLUMNS, flag_config, rollout_config
from resolvers.pagination import Page, PageRequest, SortKey, decode_cursor, encode_cursor, paginate
from resolvers.text_inputs import MAX_KEY_CHARS, filter_text, keys_list

# A client asks for the flags it knows; the platform has tens of them.
MAX_EVALUATION_KEYS = 200
BY_KEY = SortKey(column=FeatureFlag.key, id_column=FeatureFlag.id)  # uq_feature_flags_key


@dataclass(frozen=True, slots=True)
class FlagFilter:
    categories: list[str] = field(default_factory=list)
    enabled: bool | None = None
    stale: bool | None = None


def _flags_query(*, viewer: Viewer, filter: FlagFilter, now: dt.datetime) -> Select[Any]:
    query = select(*FLAG_COLUMNS).where(flags_visible_to(viewer))
    if filter.categories:
        query = query.where(FeatureFlag.category.in_(filter.categories))
    if filter.enabled is not None:
        query = query.where(FeatureFlag.enabled == filter.enabled)
    if filter.stale is not None:
        stale = stale_condition(now)
        query = query.where(stale if filter.stale else not_(stale))
    return query


async def list_flags(
    *, session: Reader, viewer: Viewer, filter: FlagFilter, page: PageRequest, now: dt.datetime
) -> tuple[Page[Row[Any]], Select[Any]]:
    """Return one page of the filtered flags by key, and the query for its totalCount."""
    query = _flags_query(viewer=viewer, filter=filter, now=now)
    return await paginate(session, query, key=BY_KEY, page=page), query


async def get_flag(*, context: RequestContext, key: str) -> Row[Any] | None:
    """Return the flag with this key, or None."""
    filter_text(key, field="key", max_chars=MAX_KEY_CHARS)
    query = select(*FLAG_COLUMNS).where(FeatureFlag.key == key, flags_visible_to(context.viewer))
    async with context.read_connection() as session:
        return (await session.execute(query)).one_or_none()


@dataclass(frozen=True, slots=True)
class VariantGroup:
    """A flag and the variants of one of its segments, in hashing order."""

    flag: FeatureFlag
    segment: str | None
    rows: list[FlagRollout]


async def variant_group(*, context: RequestContext, flag_id: int, segment: str | None) -> VariantGroup | None:
    """The flag and its variants of one segment as the context's loaders see them, or None."""
    flag = await context.loader(FeatureFlagByIdLoader).load(flag_id)
    if flag is None:
        return None
    rollouts = await context.loader(RolloutsByFlagLoader).load(flag_id)
    return VariantGroup(flag=flag, segment=segment, rows=[r for r in rollouts if r.user_segment == segment])


def audit_window(page: PageRequest) -> AuditWindow:
    """Return the loader window of an audit-log page request, its cursors decoded."""
    page = page.validated()
    return AuditWindow(
        size=page.size,
        backwards=page.backwards,
        after=None if page.after is None else _audit_cursor(page.after, "after"),
        before=None if page.before is None else _audit_cursor(page.before, "before"),
    )


def _audit_cursor(cursor: str, name: str) -> tuple[dt.datetime, int]:
    created_at, entry_id = decode_cursor(cursor, name)
    if not isinstance(created_at, dt.datetime):
        raise BadUserInput("The cursor is not one of an audit log.", field=name)
    return created_at, entry_id


def audit_page(*, rows: Sequence[Row[Any]], window: AuditWindow) -> Page[Row[Any]]:
    """Return the page the loader's rows (fetched one past the size) make, newest first."""
    more = len(rows) > window.size
    kept = list(rows[: window.size])
    if window.backwards:
        kept.reverse()
    return Page(
        rows=kept,
        cursors=[encode_cursor(row.created_at, row.id) for row in kept],
        has_next_page=window.before is not None if window.backwards else more,
        has_previous_page=more if window.backwards else window.after is not None,
    )


def evaluation_keys(keys: Sequence[str] | None) -> list[str] | None:
    """Return the requested keys without repeats, or None for every flag."""
    if keys is None:
        return None
    if len(keys) > MAX_EVALUATION_KEYS:
        raise BadUserInput(f"Ask for at most {MAX_EVALUATION_KEYS} flags at once.", field="keys")
    return list(dict.fromkeys(keys_list(keys, field="keys")))


async def evaluate_for(
    *, context: RequestContext, keys: list[str] | None, segment: str | None, stickiness: str | None
) -> list[Evaluation]:
    """Evaluate the flags (all, or `keys` in order) for one user: from the worker's snapshot when one
    is running (no SQL, the evaluation counted), else from the operation's read snapshot."""
    live = live_flags(context.services)
    snapshot = None if live is None else live.snapshot()
    if live is not None:
        cache_lookup("flag_snapshot", hit=snapshot is not None)
    if live is not None and snapshot is not None:
        return live.evaluate(snapshot, keys=keys, segment=segment, stickiness=stickiness)
    flags = await flags_for_evaluation(context=context, keys=keys)
    rollouts = await context.loader(RolloutsByFlagLoader).load_many([flag.id for flag in flags])
    return evaluate_flags(flags=flags, rollouts=rollouts, keys=keys, segment=segment, stickiness=stickiness)


async def flags_for_evaluation(*, context: RequestContext, keys: list[str] | None) -> Sequence[Row[Any]]:
    """Return what evaluation needs of the flags with these keys (all flags when None), by key."""
    query = select(*EVALUATION_COLUMNS).order_by(FeatureFlag.key)
    if keys is not None:
        query = query.where(FeatureFlag.key.in_(keys))
    async with context.read_connection() as session:
        return (await session.execute(query)).all()


def evaluate_flags(
    *,
    flags: Sequence[Row[Any]],
    rollouts: Sequence[Sequence[FlagRollout]],
    keys: list[str] | None,
    segment: str | None,
    stickiness: str | None,
) -> list[Evaluation]:
    """Evaluate each flag with its rollout rows; asked-for keys come back in order, unknown ones too."""
    found = {
        flag.key: evaluate_flag(
            flag=flag_config(flag),
            rollouts=[rollout_config(r) for r in rows],
            segment=segment,
            stickiness=stickiness,
        )
        for flag, rows in zip(flags, rollouts, strict=True)
    }
    if keys is None:
        return list(found.values())
    return [found.get(key) or flag_not_found(key) for key in keys]
