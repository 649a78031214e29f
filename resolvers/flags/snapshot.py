"""What flag evaluation reads, held in memory: every flag and its rollouts at one version.

A snapshot is immutable: a reload builds a new one and swaps it in, so an evaluation running while a
reload lands sees one version from start to end. `load_snapshot` reads the version and the rows in
one REPEATABLE READ transaction, and the version is bumped in every writing transaction by a trigger
(migration 0008), so the rows are exactly the rows of that version: a snapshot that says version 7
holds no write of version 8, and misses none of version 7.

The rows are kept in the order the database path reads them (flags by key in the database's
collation, rollouts by id), and each flag is evaluated by the same pure rules
(resolvers/flags/evaluation.py), so the answers are the database path's to the byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from loaders.flags import ROLLOUT_COLUMNS
from models.flags import FeatureFlag, FlagConfigVersion, FlagRollout
from resolvers.flags.evaluation import Evaluation, FlagConfig, RolloutConfig, evaluate_flag, flag_not_found

# What evaluation reads of a flag (reads.flags_for_evaluation selects the same).
EVALUATION_COLUMNS = (FeatureFlag.id, FeatureFlag.key, FeatureFlag.enabled, FeatureFlag.rollout_percentage)
VERSION = select(FlagConfigVersion.version).where(FlagConfigVersion.id == 1)
# The tables whose writes change an evaluation: the migration's triggers bump the version on each.
EVALUATED_TABLES = frozenset({FeatureFlag.__tablename__, FlagRollout.__tablename__})


def flag_config(row: Any) -> FlagConfig:
    return FlagConfig(key=row.key, enabled=row.enabled, rollout_percentage=row.rollout_percentage)


def rollout_config(row: Any) -> RolloutConfig:
    return RolloutConfig(
        variant_key=row.variant_key,
        weight=row.weight,
        segment=row.user_segment,
        variant_value=row.variant_value,
        active=row.active,
    )


@dataclass(frozen=True, slots=True)
class SnapshotFlag:
    id: int
    config: FlagConfig
    rollouts: tuple[RolloutConfig, ...]


@dataclass(frozen=True, slots=True)
class FlagSnapshot:
    """Every flag at `version`, by key in the database's order."""

    version: int
    flags: tuple[SnapshotFlag, ...]
    by_key: Mapping[str, SnapshotFlag]

    @classmethod
    def of(cls, version: int, flags: Iterable[SnapshotFlag]) -> FlagSnapshot:
        ordered = tuple(flags)
        return cls(version=version, flags=ordered, by_key={flag.config.key: flag for flag in ordered})

    def evaluate(
        self, *, keys: Sequence[str] | None, segment: str | None, stickiness: str | None
    ) -> list[tuple[SnapshotFlag | None, Evaluation]]:
        """Each flag's evaluation (all flags, or `keys` in their order, unknown ones FLAG_NOT_FOUND),
        with the flag it came from (None for an unknown key)."""
        if keys is None:
            chosen: Iterable[tuple[str, SnapshotFlag | None]] = ((f.config.key, f) for f in self.flags)
        else:
            chosen = ((key, self.by_key.get(key)) for key in keys)
        return [
            (
                flag,
                flag_not_found(key)
                if flag is None
                else evaluate_flag(
                    flag=flag.config, rollouts=flag.rollouts, segment=segment, stickiness=stickiness
                ),
            )
            for key, flag in chosen
        ]


async def read_version(connection: AsyncConnection) -> int:
    """The version of the flags as the connection's transaction sees it."""
    return int((await connection.execute(VERSION)).scalar_one())


async def load_snapshot(connection: AsyncConnection, *, version: int) -> FlagSnapshot:
    """Every flag and rollout, on a connection in the REPEATABLE READ transaction `version` was read in."""
    flags = (await connection.execute(select(*EVALUATION_COLUMNS).order_by(FeatureFlag.key))).all()
    rollouts: dict[int, list[RolloutConfig]] = {}
    for row in await connection.execute(select(*ROLLOUT_COLUMNS).order_by(FlagRollout.id)):
        rollouts.setdefault(row.flag_id, []).append(rollout_config(row))
    return FlagSnapshot.of(
        version,
        (
            SnapshotFlag(id=row.id, config=flag_config(row), rollouts=tuple(rollouts.get(row.id, ())))
            for row in flags
        ),
    )
