"""Flag writes on a real pool, requests in parallel on separate connections: the flag row lock keeps
each segment's weights valid, ON CONFLICT makes a taken key a userError, and the next request's
evaluation sees a committed change."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from strawberry import relay

from core.viewer import Role, Viewer
from models.flags import FeatureFlag, FlagAuditEntry, FlagRollout

ADMIN = Viewer(role=Role.ADMIN)
CUSTOMER = Viewer(role=Role.CUSTOMER, user_id=5)
PARALLEL = 10

CREATE = """
mutation ($input: CreateFlagInput!) { createFlag(input: $input) { flag { id } userErrors { field code } } }
"""
ADD = """
mutation ($input: AddFlagVariantInput!) {
  addFlagVariant(input: $input) { variants { variantKey } userErrors { field code } }
}
"""
SET = """
mutation ($input: SetFlagVariantsInput!) {
  setFlagVariants(input: $input) { variants { variantKey weight } userErrors { field code } }
}
"""
TOGGLE = """
mutation ($input: ToggleFlagInput!) { toggleFlag(input: $input) { flag { enabled } userErrors { code } } }
"""
EVALUATE = 'query { evaluateFlags(context: {sessionId: "s"}, keys: ["race_flag"]) { value reason } }'


async def _flag(live) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    async with live.sessionmaker() as session, session.begin():
        flag = FeatureFlag(key="race_flag", name="Race", category="ui", enabled=True)
        session.add(flag)
        await session.flush()
        return flag.id, relay.to_base64("FeatureFlag", flag.id)


async def test_parallel_adds_to_an_empty_segment_leave_one_variant(live) -> None:  # type: ignore[no-untyped-def]
    # given a flag without variants
    flag_id, gid = await _flag(live)

    # when ten requests each add a different variant weighing 1000, at once
    results = await asyncio.gather(
        *(
            live.execute(ADD, {"input": {"flagId": gid, "variantKey": f"v{n}", "weight": 1000}}, viewer=ADMIN)
            for n in range(PARALLEL)
        )
    )

    # then exactly one got in; the others saw it (under the lock) and were refused, none failed
    assert all(r.errors is None for r in results), [r.errors for r in results if r.errors]
    accepted = [r for r in results if not r.data["addFlagVariant"]["userErrors"]]
    assert len(accepted) == 1
    refused = [r.data["addFlagVariant"]["userErrors"] for r in results if r not in accepted]
    assert all(errors == [{"field": "weight", "code": "INVALID"}] for errors in refused)
    async with live.sessionmaker() as session:
        weights = (
            await session.scalars(select(FlagRollout.weight).where(FlagRollout.flag_id == flag_id))
        ).all()
        audits = await session.scalar(select(func.count()).select_from(FlagAuditEntry))
    assert (weights, audits) == ([1000], 1)


async def test_parallel_replacements_of_a_segment_apply_one_after_the_other(live) -> None:  # type: ignore[no-untyped-def]
    flag_id, gid = await _flag(live)
    splits = [(100 * n, 1000 - 100 * n) for n in range(PARALLEL)]

    results = await asyncio.gather(
        *(
            live.execute(
                SET,
                {
                    "input": {
                        "flagId": gid,
                        "variants": [
                            {"variantKey": "a", "weight": a},
                            {"variantKey": "b", "weight": b},
                            {"variantKey": f"extra{a}", "weight": 0},
                        ],
                    }
                },
                viewer=ADMIN,
            )
            for a, b in splits
        )
    )

    # every request succeeded, and the segment is exactly what one of them asked for
    assert all(r.errors is None and r.data["setFlagVariants"]["userErrors"] == [] for r in results)
    async with live.sessionmaker() as session:
        rows = (
            await session.execute(
                select(FlagRollout.variant_key, FlagRollout.weight)
                .where(FlagRollout.flag_id == flag_id)
                .order_by(FlagRollout.id)
            )
        ).all()
    final = {key: weight for key, weight in rows}
    assert len(rows) == 3 and sum(final.values()) == 1000
    assert (final["a"], final["b"]) in splits and final[f"extra{final['a']}"] == 0


async def test_parallel_creations_of_one_key_make_one_flag(live) -> None:  # type: ignore[no-untyped-def]
    results = await asyncio.gather(
        *(
            live.execute(
                CREATE, {"input": {"key": "twin", "name": f"Twin {n}", "category": "UI"}}, viewer=ADMIN
            )
            for n in range(PARALLEL)
        )
    )

    assert all(r.errors is None for r in results), [r.errors for r in results if r.errors]
    errors = [r.data["createFlag"]["userErrors"] for r in results]
    assert errors.count([]) == 1
    assert all(e == [{"field": "key", "code": "TAKEN"}] for e in errors if e)
    async with live.sessionmaker() as session:
        assert await session.scalar(select(func.count()).where(FeatureFlag.key == "twin")) == 1
        assert await session.scalar(select(func.count()).where(FlagAuditEntry.flag_key == "twin")) == 1


async def test_the_next_request_evaluates_a_committed_toggle(live) -> None:  # type: ignore[no-untyped-def]
    _, gid = await _flag(live)
    before = await live.execute(EVALUATE, viewer=CUSTOMER)

    await live.execute(TOGGLE, {"input": {"id": gid, "enabled": False, "reason": "Kill"}}, viewer=ADMIN)
    after = await live.execute(EVALUATE, viewer=CUSTOMER)

    assert before.data["evaluateFlags"] == [{"value": True, "reason": "DEFAULT"}]
    assert after.data["evaluateFlags"] == [{"value": False, "reason": "DISABLED"}]
