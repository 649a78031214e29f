"""Each users-domain loader serves several keys with one statement, in key order, visibility applied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from core.viewer import Viewer
from loaders import ml as insights
from loaders import users as loaders
from tests.models import factories as f
from tests.support import context, counting
from tests.users.support import ADMIN, customer

T = datetime(2024, 5, 1, tzinfo=UTC)
NEWEST_TWO = loaders.Window(size=2)


async def _load(db: AsyncSession, settings: Settings, cls: type, keys: list, viewer: Viewer = ADMIN):  # type: ignore[no-untyped-def, type-arg]
    """Load `keys` at once through a fresh loader; return the values and the statements run."""
    loader = cls(context(db, settings, viewer))
    with counting((await db.connection()).sync_connection) as statements:
        values = await loader.load_many(keys)
    return values, statements


async def test_user_by_id(db: AsyncSession, settings: Settings) -> None:
    a, b = await f.make_user(db), await f.make_user(db)
    keys = [b.id, f.MISSING_ID, a.id]

    values, statements = await _load(db, settings, loaders.UserByIdLoader, keys)
    as_customer, _ = await _load(db, settings, loaders.UserByIdLoader, keys, viewer=customer(a.id))

    assert len(statements) == 1
    assert [v and v.id for v in values] == [b.id, None, a.id]
    assert [v and v.id for v in as_customer] == [None, None, a.id]


async def test_account_by_id_and_accounts_by_user(db: AsyncSession, settings: Settings) -> None:
    a, b = await f.make_user(db), await f.make_user(db)
    a1, a2 = await f.make_account(db, user_id=a.id), await f.make_account(db, user_id=a.id)
    b1 = await f.make_account(db, user_id=b.id)

    by_id, one = await _load(db, settings, loaders.AccountByIdLoader, [b1.id, a1.id], viewer=customer(a.id))
    by_user, two = await _load(db, settings, loaders.AccountsByUserLoader, [b.id, a.id, f.MISSING_ID])

    assert len(one) == len(two) == 1
    assert [v and v.id for v in by_id] == [None, a1.id]
    assert [[r.id for r in rows] for rows in by_user] == [[b1.id], [a1.id, a2.id], []]


async def test_transaction_and_reward_entry_by_id(db: AsyncSession, settings: Settings) -> None:
    a, b = await f.make_user(db), await f.make_user(db)
    ta, tb = await f.make_transaction(db, user_id=a.id), await f.make_transaction(db, user_id=b.id)
    ra, rb = await f.make_reward_entry(db, user_id=a.id), await f.make_reward_entry(db, user_id=b.id)

    txs, one = await _load(db, settings, loaders.TransactionByIdLoader, [tb.id, ta.id], viewer=customer(a.id))
    entries, two = await _load(db, settings, loaders.RewardEntryByIdLoader, [rb.id, ra.id])

    assert len(one) == len(two) == 1
    assert [v and v.id for v in txs] == [None, ta.id]
    assert [v.id for v in entries] == [rb.id, ra.id]


async def test_transaction_pages_one_statement_per_filter_and_window(
    db: AsyncSession, settings: Settings
) -> None:
    # given two users with three transactions each
    users = [await f.make_user(db), await f.make_user(db)]
    rows = {
        u.id: [
            await f.make_transaction(
                db, user_id=u.id, amount=Decimal(i + 1), occurred_at=T + timedelta(hours=i)
            )
            for i in range(3)
        ]
        for u in users
    }
    everything, large = loaders.TransactionFilter(), loaders.TransactionFilter(min_amount=Decimal(2))

    # when both users' pages are asked with one filter, and once with another
    keys = [(u.id, everything, NEWEST_TWO) for u in users] + [(users[0].id, large, NEWEST_TWO)]
    pages, statements = await _load(db, settings, loaders.TransactionPageByUserLoader, keys)

    # then one statement per distinct (filter, window), each window holding size + 1 rows, newest first
    assert len(statements) == 2
    for (user_id, criteria, _), page in zip(keys, pages, strict=True):
        expected = [r.id for r in reversed(rows[user_id]) if criteria.min_amount is None or r.amount >= 2]
        assert [r.id for r in page] == expected


async def test_transaction_window_bounds(db: AsyncSession, settings: Settings) -> None:
    user = await f.make_user(db)
    ids = [
        (await f.make_transaction(db, user_id=user.id, occurred_at=T + timedelta(hours=i))).id
        for i in range(4)
    ]
    middle = (T + timedelta(hours=2), ids[2])
    after = loaders.Window(size=1, after=middle)
    before = loaders.Window(size=1, before=middle, backwards=True)
    everything = loaders.TransactionFilter()

    pages, _ = await _load(
        db,
        settings,
        loaders.TransactionPageByUserLoader,
        [(user.id, everything, after), (user.id, everything, before)],
    )

    assert [[r.id for r in page] for page in pages] == [[ids[1], ids[0]], [ids[3]]]


async def test_transaction_counts(db: AsyncSession, settings: Settings) -> None:
    a, b = await f.make_user(db), await f.make_user(db)
    for amount in (1, 5, 9):
        await f.make_transaction(db, user_id=a.id, amount=Decimal(amount))
    everything, small = loaders.TransactionFilter(), loaders.TransactionFilter(max_amount=Decimal(5))
    keys = [(a.id, everything), (b.id, everything), (a.id, small)]

    counts, statements = await _load(db, settings, loaders.TransactionCountByUserLoader, keys)

    assert counts == [3, 0, 2]
    assert len(statements) == 2


async def test_reward_pages_and_counts(db: AsyncSession, settings: Settings) -> None:
    a, b = await f.make_user(db), await f.make_user(db)
    ids = [
        (await f.make_reward_entry(db, user_id=a.id, created_at=T + timedelta(days=i))).id for i in range(4)
    ]

    pages, one = await _load(
        db, settings, loaders.RewardEntryPageByUserLoader, [(a.id, NEWEST_TWO), (b.id, NEWEST_TWO)]
    )
    counts, two = await _load(
        db, settings, loaders.RewardEntryCountByUserLoader, [b.id, a.id], viewer=customer(a.id)
    )

    assert len(one) == len(two) == 1
    assert [[r.id for r in page] for page in pages] == [[ids[3], ids[2], ids[1]], []]
    assert counts == [0, 4]


async def test_recommended_merchants(db: AsyncSession, settings: Settings) -> None:
    a, b = await f.make_user(db), await f.make_user(db)
    shops = [await f.make_merchant(db) for _ in range(3)]
    for user, scores in ((a, (0.1, 0.9, 0.5)), (b, (0.7, 0.2, 0.3))):
        for shop, score in zip(shops, scores, strict=True):
            await f.make_user_merchant_affinity(
                db, user_id=user.id, merchant_id=shop.id, affinity_score=score
            )

    found, statements = await _load(
        db, settings, insights.RecommendedMerchantsByUserLoader, [(a.id, 2), (b.id, 2), (a.id, 1)]
    )

    assert len(statements) == 2  # one per distinct `first`
    assert [[(r.merchant.id, r.affinity_score) for r in rows] for rows in found] == [
        [(shops[1].id, 0.9), (shops[2].id, 0.5)],
        [(shops[0].id, 0.7), (shops[2].id, 0.3)],
        [(shops[1].id, 0.9)],
    ]


async def test_optimal_send_time(db: AsyncSession, settings: Settings) -> None:
    a, b = await f.make_user(db), await f.make_user(db)
    await f.make_user_optimal_send_time(db, user_id=a.id, optimal_hour=8)
    await f.make_user_optimal_send_time(db, user_id=b.id, optimal_hour=20)

    values, statements = await _load(
        db, settings, insights.OptimalSendTimeByUserLoader, [b.id, a.id, f.MISSING_ID]
    )
    own, _ = await _load(
        db, settings, insights.OptimalSendTimeByUserLoader, [b.id, a.id], viewer=customer(a.id)
    )

    assert len(statements) == 1
    assert [v and v.optimal_hour for v in values] == [20, 8, None]
    assert [v and v.optimal_hour for v in own] == [None, 8]
