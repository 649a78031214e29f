"""Experiment data writes: sticky variant assignments and conversions. They are data, not configuration,
so they are not audited; they are only accepted while the test is RUNNING.

Bucketing order: the variants are hashed in the order of their ids, which is the order they were given
in when the test was created (or last edited as a draft). The read API lists them control first, then
by key; that order is for display and never reaches the hash.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Numeric, Select, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.changes import wrote_keys
from core.context import RequestContext
from core.viewer import Role, Viewer
from models.experiments import Experiment, ExperimentAssignment, ExperimentStatus, ExperimentVariant
from models.users import User
from resolvers.flags.bucketing import WeightedVariant, assign_experiment_variant
from resolvers.outcomes import Outcome, Problem, ProblemCode, Problems

MAX_REVENUE = Decimal("9999999999.99")  # NUMERIC(12,2): per conversion, and in total per user
CENT = Decimal("0.01")
# The table, not the entity: with a parameters dict an ORM insert would become a bulk insert of rows.
A = ExperimentAssignment.__table__.c
TABLE = ExperimentAssignment.__table__
STORED = (A.id, A.variant_id, A.user_id, A.assigned_at, A.conversions, A.revenue, A.last_converted_at)


@dataclass(frozen=True, slots=True)
class AssignedVariant:
    """A user's stored assignment, with the keys the apps know the test and variant by."""

    assignment_id: int
    experiment_id: int
    experiment_key: str
    user_id: int
    variant_key: str
    variant_name: str
    payload: Any
    assigned_at: dt.datetime
    conversions: int
    revenue: Decimal
    last_converted_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class _Arm:
    id: int
    key: str
    name: str
    weight: int
    payload: Any


@dataclass(frozen=True, slots=True)
class _Test:
    id: int
    key: str
    arms: tuple[_Arm, ...]  # in bucketing order (variant id)

    def answer(self, stored: Any) -> AssignedVariant:
        arm = next(a for a in self.arms if a.id == stored.variant_id)
        return AssignedVariant(
            assignment_id=stored.id,
            experiment_id=self.id,
            experiment_key=self.key,
            user_id=stored.user_id,
            variant_key=arm.key,
            variant_name=arm.name,
            payload=arm.payload,
            assigned_at=stored.assigned_at,
            conversions=stored.conversions,
            revenue=stored.revenue,
            last_converted_at=stored.last_converted_at,
        )


def subject_of(*, viewer: Viewer, user_id: int | None) -> Outcome[int]:
    """Whose assignment: a customer only their own (naming another user is refused), others anyone's."""
    if viewer.role is Role.CUSTOMER:
        if user_id is not None and user_id != viewer.user_id:
            return Outcome.one_problem(
                "user_id", "Customers are assigned as themselves.", ProblemCode.FORBIDDEN
            )
        user_id = viewer.user_id
    chosen = user_id if user_id is not None else viewer.user_id
    if chosen is None:
        return Outcome.one_problem("user_id", "Required.", ProblemCode.REQUIRED)
    return Outcome(value=chosen)


def _test_query(by_id: bool) -> Select[Any]:
    e, v = Experiment, ExperimentVariant
    # FOR SHARE OF the test: concurrent assignments do not wait for each other, but a status change
    # (FOR UPDATE) waits for those in flight, so nothing is written to a test after it has completed.
    return (
        select(e.id, e.key, e.status, v.id, v.key, v.name, v.weight, v.payload)
        .outerjoin(v, v.test_id == e.id)
        .where(e.id == bindparam("ref", type_=BigInteger) if by_id else e.key == bindparam("ref"))
        .order_by(v.id)
        .with_for_update(read=True, of=e)
    )


# Built once: these run on every assignment, and building a statement costs more than executing it.
TEST_BY_ID, TEST_BY_KEY = _test_query(True), _test_query(False)
# INSERT ... SELECT from users: an unknown (or erased) user inserts nothing instead of failing the FK.
# DO NOTHING on (test_id, user_id): the first assignment stays; a concurrent insert of the same user
# waits for the other transaction and then inserts nothing.
INSERT_ASSIGNMENT = (
    insert(TABLE)
    .from_select(
        [A.test_id, A.user_id, A.variant_id],
        select(bindparam("test", type_=BigInteger), User.id, bindparam("variant", type_=BigInteger)).where(
            User.id == bindparam("user"), User.deleted_at.is_(None)
        ),
    )
    .on_conflict_do_nothing(index_elements=[A.test_id, A.user_id])
    .returning(*STORED)
)
# One statement: concurrent conversions of one user add up, none is lost. The headroom guard keeps the
# total inside NUMERIC(12,2) instead of failing the statement.
RECORD_CONVERSION = (
    update(TABLE)
    .where(A.test_id == bindparam("test"), A.user_id == bindparam("user"))
    .where(A.revenue <= bindparam("headroom", type_=Numeric(12, 2)))
    .values(
        conversions=A.conversions + 1,
        revenue=A.revenue + bindparam("amount", type_=Numeric(12, 2)),
        last_converted_at=func.now(),
    )
    .returning(*STORED)
)
STORED_ASSIGNMENT = select(*STORED).where(A.test_id == bindparam("test"), A.user_id == bindparam("user"))


async def _running(session: AsyncSession, experiment: int | str) -> _Test | Problem:
    """The running test by id (int) or key (str), share-locked, with its variants in bucketing order."""
    query = TEST_BY_ID if isinstance(experiment, int) else TEST_BY_KEY
    rows = (await session.execute(query, {"ref": experiment})).all()
    if not rows:
        return Problem("experiment_id", "No such experiment.", ProblemCode.NOT_FOUND)
    test_id, test_key, status = rows[0][:3]
    if status != ExperimentStatus.RUNNING.value:
        return Problem(
            "experiment_id", f"The experiment is {status}, not running.", ProblemCode.INVALID_TRANSITION
        )
    arms = tuple(_Arm(*row[3:]) for row in rows if row[3] is not None)
    return _Test(test_id, test_key, arms)


async def assign_variant(
    *, session: AsyncSession, experiment: int | str, user_id: int
) -> Outcome[AssignedVariant]:
    """Return the user's stored variant, assigning it by bucketing the first time (sticky)."""
    test = await _running(session, experiment)
    if isinstance(test, Problem):
        return Outcome.refused([test])
    weighted = [WeightedVariant(key=a.key, weight=a.weight) for a in test.arms]
    chosen = assign_experiment_variant(experiment_key=test.key, user_id=user_id, variants=weighted)
    variant_id = next(a.id for a in test.arms if a.key == chosen.key)
    keys = {"test": test.id, "user": user_id}
    stored = (await session.execute(INSERT_ASSIGNMENT, {**keys, "variant": variant_id})).first()
    if stored is not None:
        # INSERT ... SELECT: the tracker cannot see the row; experimentResults watches the test's key.
        wrote_keys(session, TABLE.name, "test_id", [test.id])
    if stored is None:
        # A new statement sees what a concurrent transaction committed: the answer is always the stored row.
        stored = (await session.execute(STORED_ASSIGNMENT, keys)).first()
    if stored is None:
        return Outcome.one_problem("user_id", "No such user.", ProblemCode.NOT_FOUND)
    return Outcome(value=test.answer(stored), ref=("ExperimentAssignment", stored.id))


def _check_revenue(revenue: Decimal, problems: Problems) -> None:
    if not revenue.is_finite():
        problems.add("revenue", "Must be a number.")
        return
    problems.require_range("revenue", revenue, low=Decimal(0), high=MAX_REVENUE)
    if not problems and revenue != revenue.quantize(CENT):
        problems.add("revenue", "At most two decimal places (cents).")


async def record_conversion(
    *, session: AsyncSession, experiment: int | str, user_id: int, revenue: Decimal
) -> Outcome[AssignedVariant]:
    """Count one conversion of an assigned user, adding its revenue, atomically."""
    problems = Problems()
    _check_revenue(revenue, problems)
    if problems:
        return Outcome.refused(problems)
    test = await _running(session, experiment)
    if isinstance(test, Problem):
        return Outcome.refused([test])
    keys = {"test": test.id, "user": user_id}
    values = {**keys, "amount": revenue, "headroom": MAX_REVENUE - revenue}
    stored = (await session.execute(RECORD_CONVERSION, values)).first()
    if stored is not None:
        wrote_keys(session, TABLE.name, "test_id", [test.id])
        return Outcome(value=test.answer(stored), ref=("ExperimentAssignment", stored.id))
    if (await session.execute(STORED_ASSIGNMENT, keys)).first() is None:
        return Outcome.one_problem(
            "user_id", "The user is not assigned to this experiment.", ProblemCode.NOT_FOUND
        )
    return Outcome.one_problem(
        "revenue", "The user's total revenue would overflow.", ProblemCode.OUT_OF_RANGE
    )


async def stored_assignment(context: RequestContext, ref: dict[str, Any]) -> AssignedVariant | None:
    """An assignment as stored, for replaying an idempotent request (on the mutation's session)."""
    async with context.read_session() as session:
        row = (await session.execute(select(*STORED, A.test_id).where(A.id == int(ref["id"])))).first()
        if row is None:
            return None
        e, v = Experiment, ExperimentVariant
        arms = await session.execute(
            select(e.key, v.id, v.key, v.name, v.weight, v.payload)
            .join(v, v.test_id == e.id)
            .where(e.id == row.test_id)
        )
        found = arms.all()
    return _Test(row.test_id, found[0][0], tuple(_Arm(*a[1:]) for a in found)).answer(row)
