"""The API's own flag evaluations, counted in memory per flag and UTC day until a flush adds them up.

Counting is a dict update on the evaluation's path; the database sees one statement per flush
(usage_writes.add_evaluation_counts). A flush that fails gives its counts back, to be added to the
next; what is pending is bounded (MAX_PENDING flag-days), past which new flag-days are dropped and
counted in `dropped` rather than growing without end while the database is away.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass

# Flags x days: tens of flags over a few days of outage, with room to spare.
MAX_PENDING = 10_000
SECONDS_PER_DAY = 86_400
_EPOCH = dt.date(1970, 1, 1)


def utc_day_number(now: float | None = None) -> int:
    """Days since 1970-01-01 in UTC: cheaper than a date object on every evaluation."""
    return int((time.time() if now is None else now) // SECONDS_PER_DAY)


@dataclass(frozen=True, slots=True)
class EvaluationCount:
    flag_id: int
    date: dt.date
    evaluations: int
    enabled: int


class EvaluationCounts:
    def __init__(self, *, max_pending: int = MAX_PENDING) -> None:
        self._max = max_pending
        # (day number, flag id) -> [evaluations, of which enabled]
        self._pending: dict[tuple[int, int], list[int]] = {}
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, day: int, results: Iterable[tuple[int, bool]]) -> None:
        """Count one evaluation of each (flag id, value)."""
        pending = self._pending
        for flag_id, value in results:
            entry = pending.get((day, flag_id))
            if entry is None:
                if len(pending) >= self._max:
                    self.dropped += 1
                    continue
                entry = pending[(day, flag_id)] = [0, 0]
            entry[0] += 1
            if value:
                entry[1] += 1

    def take(self) -> list[EvaluationCount]:
        """Everything pending, forgotten here: the caller writes it or gives it back."""
        taken, self._pending = self._pending, {}
        return [
            EvaluationCount(
                flag_id=flag_id, date=_EPOCH + dt.timedelta(days=day), evaluations=total, enabled=enabled
            )
            for (day, flag_id), (total, enabled) in taken.items()
        ]

    def give_back(self, counts: Iterable[EvaluationCount]) -> None:
        """Merge counts a flush could not write with those counted since (within the bound)."""
        for count in counts:
            key = ((count.date - _EPOCH).days, count.flag_id)
            entry = self._pending.get(key)
            if entry is None:
                if len(self._pending) >= self._max:
                    self.dropped += count.evaluations
                    continue
                entry = self._pending[key] = [0, 0]
            entry[0] += count.evaluations
            entry[1] += count.enabled
