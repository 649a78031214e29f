"""evaluateFlags answers the same from the snapshot as from the database: every rule, viewer and key
list, flags ordered by the database's collation (keys differing only in punctuation included)."""

from __future__ import annotations

import itertools

from strawberry import relay

from core.services import Services
from core.viewer import ANONYMOUS, Role, Viewer
from models.flags import FeatureFlag, FlagRollout
from tests.flags.conftest import StartFlags

EVALUATE = """
query ($context: FlagContextInput!, $keys: [String!]) {
  evaluateFlags(context: $context, keys: $keys) { key value variant variantValue reason errorCode }
}
"""
# Keys whose order differs between a byte-wise sort and most collations.
KEYS = ["a-b", "a_b", "ab", "a.c", "a1", "b", "0num", "z_last", "mid.dle-x"]
# (enabled, rollout percentage, rollouts as (variant, weight, segment, active))
CONFIGS = [
    (False, 100, [("a", 500, None, True), ("b", 500, None, True)]),
    (True, 100, []),
    (True, 100, [("a", 500, None, True), ("b", 500, None, True)]),
    (True, 37, [("a", 0, None, True), ("b", 700, None, True), ("c", 300, None, False)]),
    (True, 0, [("beta", 1000, "beta", True)]),
    (True, 50, [("beta", 400, "beta", True), ("beta2", 600, "beta", True), ("g", 1000, None, True)]),
    (True, 100, [("zero", 0, None, True)]),
    (True, 10, [("off", 1000, "beta", False), ("g", 1000, None, True)]),
]
VIEWERS = [
    ANONYMOUS,
    Viewer(role=Role.CUSTOMER, user_id=1),
    Viewer(role=Role.CUSTOMER, user_id=2),
    Viewer(role=Role.ADMIN, user_id=3),
    Viewer(role=Role.SERVICE),
    Viewer(role=Role.MERCHANT, user_id=4, merchant_id=1),
]
CONTEXTS = [
    {},
    *({"sessionId": f"s-{n}"} for n in range(4)),
    {"sessionId": "s-9", "segment": "beta"},
    {"segment": "beta"},
    {"userId": relay.to_base64("User", 7), "sessionId": "s-2"},
    {"userId": relay.to_base64("User", 8), "segment": "beta"},
]
KEY_LISTS = [None, ["b", "missing", "a_b", "b", "ab"], ["0num"]]


async def _world(live) -> None:  # type: ignore[no-untyped-def]
    async with live.sessionmaker() as session, session.begin():
        for key, (enabled, percentage, rollouts) in zip(KEYS, itertools.cycle(CONFIGS), strict=False):
            flag = FeatureFlag(
                key=key, name=key, category="ui", enabled=enabled, rollout_percentage=percentage
            )
            session.add(flag)
            await session.flush()
            session.add_all(
                FlagRollout(
                    flag_id=flag.id, variant_key=v, weight=w, user_segment=s, active=a, variant_value=v * 2
                )
                for v, w, s, a in rollouts
            )
            await session.flush()


async def test_the_snapshot_answers_exactly_as_the_database(live, start_flags: StartFlags) -> None:  # type: ignore[no-untyped-def]
    # given flags covering every rule, and a running snapshot
    await _world(live)
    running = await start_flags()
    assert running.flags.current is not None

    mismatches = []
    answers = set()
    for viewer, context, keys in itertools.product(VIEWERS, CONTEXTS, KEY_LISTS):
        variables = {"context": context, "keys": keys}
        # when the same request is answered from the database and from the snapshot
        from_db = await live.execute(EVALUATE, variables, viewer=viewer, services=Services())
        from_snapshot = await live.execute(EVALUATE, variables, viewer=viewer, services=running.services)
        assert from_db.errors is None, from_db.errors
        if from_db.data != from_snapshot.data or from_snapshot.errors:
            mismatches.append((viewer.role, context, keys, from_db.data, from_snapshot.data))
        answers.update(
            (r["key"], r["value"], r["variant"], r["reason"], r["errorCode"])
            for r in from_db.data["evaluateFlags"]
        )

    # then every answer is the same, and the answers cover every reason and error
    assert mismatches == []
    assert {a[3] for a in answers} == {"DISABLED", "TARGETING_MATCH", "SPLIT", "DEFAULT"}
    assert {a[4] for a in answers} == {None, "FLAG_NOT_FOUND", "TARGETING_KEY_MISSING"}
