"""What a mutation's business function returns: the value written, or the user errors that stopped it.

Validation problems are data, not exceptions: they travel to the payload's `userErrors`, and the
transaction they come from is rolled back so nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class ProblemCode(StrEnum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    NOT_FOUND = "NOT_FOUND"
    TAKEN = "TAKEN"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    FORBIDDEN = "FORBIDDEN"


@dataclass(frozen=True, slots=True)
class Problem:
    field: str | None
    message: str
    code: ProblemCode = ProblemCode.INVALID


@dataclass(slots=True)
class Problems:
    """Collects every problem of an input, so the client sees them all at once."""

    items: list[Problem] = field(default_factory=list)

    def add(self, field: str | None, message: str, code: ProblemCode = ProblemCode.INVALID) -> None:
        self.items.append(Problem(field, message, code))

    def __bool__(self) -> bool:
        return bool(self.items)

    def require_length(
        self, field: str, value: str | None, *, max_length: int, required: bool = False
    ) -> None:
        if value is None or not value.strip():
            if required:
                self.add(field, "Required.", ProblemCode.REQUIRED)
            return
        if len(value) > max_length:
            self.add(field, f"At most {max_length} characters.", ProblemCode.TOO_LONG)

    def require_range(self, field: str, value: Any, *, low: Any = None, high: Any = None) -> None:
        if value is None:
            return
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = (
                f"between {low} and {high}"
                if low is not None and high is not None
                else (f"at least {low}" if low is not None else f"at most {high}")
            )
            self.add(field, f"Must be {bounds}.", ProblemCode.OUT_OF_RANGE)


@dataclass(slots=True)
class Outcome(Generic[T]):
    """The result of a write: `value` when it succeeded, `problems` when it must not be written."""

    value: T | None = None
    problems: list[Problem] = field(default_factory=list)
    # What was written, for idempotent replays: ("Campaign", 7).
    ref: tuple[str, int] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @classmethod
    def refused(cls, problems: Problems | list[Problem]) -> Outcome[T]:
        return cls(problems=list(problems.items if isinstance(problems, Problems) else problems))

    @classmethod
    def one_problem(
        cls, field: str | None, message: str, code: ProblemCode = ProblemCode.INVALID
    ) -> Outcome[T]:
        return cls(problems=[Problem(field, message, code)])
