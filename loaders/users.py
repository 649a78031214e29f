"""Users-domain loaders: profiles, accounts, paged transactions and rewards (what the ML models say
of a user is in loaders/ml.py).

Every statement applies the viewer's user visibility in its SQL: admins see every user's rows,
anyone else with an account only their own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Select, func, select, true, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from core.viewer import Viewer
from loaders.base import Loader, Reader, grouped_by_rest, many_per_key, one_per_key
from loaders.visibility import user_rows_visible_to, users_visible_to
from models.users import Account, RewardEntry, Transaction, User

G = TypeVar("G", bound=Hashable)

# What the GraphQL types (and the replays of resolvers/users) read of a row; user_id groups by user.
USER_COLUMNS = (
    User.id, User.name, User.email, User.phone, User.role, User.loyalty_tier, User.reward_points,
    User.created_at, User.last_login_at, User.deleted_at, User.time_zone,
)  # fmt: skip
ACCOUNT_COLUMNS = (
    Account.id, Account.user_id, Account.kind, Account.institution, Account.last_four, Account.balance,
    Account.currency, Account.status, Account.created_at,
)  # fmt: skip
TRANSACTION_COLUMNS = (
    Transaction.id, Transaction.user_id, Transaction.account_id, Transaction.merchant_id,
    Transaction.campaign_id, Transaction.amount, Transaction.currency, Transaction.category,
    Transaction.status, Transaction.occurred_at,
)  # fmt: skip
REWARD_ENTRY_COLUMNS = (
    RewardEntry.id, RewardEntry.user_id, RewardEntry.kind, RewardEntry.points, RewardEntry.description,
    RewardEntry.created_at,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Window:
    """A keyset window of one user's rows, newest first; the bounds are decoded cursors."""

    size: int
    after: tuple[Any, int] | None = None
    before: tuple[Any, int] | None = None
    backwards: bool = False


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    """Predicates of a user's transaction list; all given ones must match."""

    occurred_from: dt.datetime | None = None  # inclusive
    occurred_before: dt.datetime | None = None  # exclusive
    merchant_id: int | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    def conditions(self) -> list[ColumnElement[bool]]:
        t = Transaction
        found: list[ColumnElement[bool]] = []
        if self.occurred_from is not None:
            found.append(t.occurred_at >= self.occurred_from)
        if self.occurred_before is not None:
            found.append(t.occurred_at < self.occurred_before)
        if self.merchant_id is not None:
            found.append(t.merchant_id == self.merchant_id)
        if self.min_amount is not None:
            found.append(t.amount >= self.min_amount)
        if self.max_amount is not None:
            found.append(t.amount <= self.max_amount)
        if self.categories:
            found.append(t.category.in_(self.categories))
        if self.statuses:
            found.append(t.status.in_(self.statuses))
        return found


def _page_query(
    viewer: Viewer,
    columns: tuple[InstrumentedAttribute[Any], ...],
    sort: InstrumentedAttribute[dt.datetime],
    user_ids: list[int],
    window: Window,
    conditions: list[ColumnElement[bool]],
) -> Select[Any]:
    """Each user's window in one statement: a LATERAL subquery per user stops after size + 1 rows
    on the (user_id, sort, id) index instead of ranking the user's whole history."""
    model: Any = sort.class_  # the table of the sort column: transactions or the rewards ledger
    users = select(User.id).where(User.id.in_(user_ids), users_visible_to(viewer)).subquery("u")
    inner = select(*columns).where(model.user_id == users.c.id, *conditions)
    position = tuple_(sort, model.id)
    if window.after is not None:
        inner = inner.where(position < tuple_(*window.after))
    if window.before is not None:
        inner = inner.where(position > tuple_(*window.before))
    direction = "asc" if window.backwards else "desc"
    page = (
        inner.order_by(getattr(sort, direction)(), getattr(model.id, direction)())
        .limit(window.size + 1)
        .lateral("page")
    )
    row = page.c
    return (
        select(*row)
        .select_from(users)
        .join(page, true())
        .order_by(row.user_id, getattr(row[sort.key], direction)(), getattr(row.id, direction)())
    )


class UserByIdLoader(Loader[int, Row | None]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = select(*USER_COLUMNS).where(User.id.in_(keys), users_visible_to(self.viewer))
        return one_per_key(keys, await session.execute(query), lambda r: r.id)


class AccountByIdLoader(Loader[int, Row | None]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = select(*ACCOUNT_COLUMNS).where(
            Account.id.in_(keys), user_rows_visible_to(self.viewer, Account.user_id)
        )
        return one_per_key(keys, await session.execute(query), lambda r: r.id)


class AccountsByUserLoader(Loader[int, list[Row]]):
    # ix_accounts_user_id; a user links a handful of accounts, so the list is not paged.
    async def load_batch(self, session: Reader, keys: list[int]) -> list[list[Row]]:
        query = (
            select(*ACCOUNT_COLUMNS)
            .where(Account.user_id.in_(keys), user_rows_visible_to(self.viewer, Account.user_id))
            .order_by(Account.user_id, Account.created_at, Account.id)
        )
        return many_per_key(keys, await session.execute(query), lambda r: r.user_id)


class TransactionByIdLoader(Loader[int, Row | None]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = select(*TRANSACTION_COLUMNS).where(
            Transaction.id.in_(keys), user_rows_visible_to(self.viewer, Transaction.user_id)
        )
        return one_per_key(keys, await session.execute(query), lambda r: r.id)


TransactionPageKey = tuple[int, TransactionFilter, Window]


class TransactionPageByUserLoader(Loader[TransactionPageKey, list[Row]]):
    """A window of a user's transactions (size + 1 rows, nearest the cursor first)."""

    # ix_transactions_user_id_occurred_at_id serves user_id = u.id ORDER BY occurred_at, id LIMIT n.
    async def load_batch(self, session: Reader, keys: list[TransactionPageKey]) -> list[list[Row]]:
        found: dict[TransactionPageKey, list[Row]] = {}
        for (criteria, window), user_ids in grouped_by_rest(keys).items():
            query = _page_query(
                self.viewer,
                TRANSACTION_COLUMNS,
                Transaction.occurred_at,
                user_ids,
                window,
                criteria.conditions(),
            )
            rows = many_per_key(user_ids, await session.execute(query), lambda r: r.user_id)
            found.update({(u, criteria, window): r for u, r in zip(user_ids, rows, strict=True)})
        return [found[key] for key in keys]


class TransactionCountByUserLoader(Loader[tuple[int, TransactionFilter], int]):
    """totalCount of a user's filtered transactions."""

    async def load_batch(self, session: Reader, keys: list[tuple[int, TransactionFilter]]) -> list[int]:
        found: dict[tuple[int, TransactionFilter], int] = {}
        for (criteria,), user_ids in grouped_by_rest(keys).items():
            query = (
                select(Transaction.user_id, func.count())
                .where(
                    Transaction.user_id.in_(user_ids),
                    user_rows_visible_to(self.viewer, Transaction.user_id),
                    *criteria.conditions(),
                )
                .group_by(Transaction.user_id)
            )
            found.update({(user_id, criteria): n for user_id, n in await session.execute(query)})
        return [found.get(key, 0) for key in keys]


class RewardEntryByIdLoader(Loader[int, Row | None]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = select(*REWARD_ENTRY_COLUMNS).where(
            RewardEntry.id.in_(keys), user_rows_visible_to(self.viewer, RewardEntry.user_id)
        )
        return one_per_key(keys, await session.execute(query), lambda r: r.id)


class RewardEntryPageByUserLoader(Loader[tuple[int, Window], list[Row]]):
    """A window of a user's rewards ledger (size + 1 rows, nearest the cursor first)."""

    # ix_rewards_ledger_user_id_created_at_id serves it.
    async def load_batch(self, session: Reader, keys: list[tuple[int, Window]]) -> list[list[Row]]:
        found: dict[tuple[int, Window], list[Row]] = {}
        for (window,), user_ids in grouped_by_rest(keys).items():
            query = _page_query(
                self.viewer, REWARD_ENTRY_COLUMNS, RewardEntry.created_at, user_ids, window, []
            )
            rows = many_per_key(user_ids, await session.execute(query), lambda r: r.user_id)
            found.update({(u, window): r for u, r in zip(user_ids, rows, strict=True)})
        return [found[key] for key in keys]


class RewardEntryCountByUserLoader(Loader[int, int]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[int]:
        query = (
            select(RewardEntry.user_id, func.count())
            .where(RewardEntry.user_id.in_(keys), user_rows_visible_to(self.viewer, RewardEntry.user_id))
            .group_by(RewardEntry.user_id)
        )
        found: dict[int, int] = {user_id: n for user_id, n in await session.execute(query)}
        return [found.get(key, 0) for key in keys]
