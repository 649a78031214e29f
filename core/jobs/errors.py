"""What a failed job attempt says to admins: a code from the API's set and one line written by the
application, never the exception's text (which may hold data, SQL or a provider's answer)."""

from __future__ import annotations

from dataclasses import dataclass

from procrastinate import exceptions as procrastinate_errors

from core.database import statement_timed_out, unavailability
from core.errors import ErrorCode

SUMMARY_MAX = 200


class JobError(Exception):
    """A failure a task explains itself: its code and one-line summary are shown to admins.

    `retry=False` marks it permanent: the job fails at once instead of being tried again.
    """

    def __init__(self, code: ErrorCode, summary: str, *, retry: bool = True) -> None:
        super().__init__(summary)
        self.code = code
        self.summary = summary
        self.retry = retry


@dataclass(frozen=True, slots=True)
class FailureReport:
    code: ErrorCode
    summary: str


def one_line(text: str) -> str:
    """`text` on one line, at most SUMMARY_MAX characters (the table's check says so too)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= SUMMARY_MAX else flat[: SUMMARY_MAX - 1] + "…"


def describe(exc: BaseException) -> FailureReport:
    """The code and summary of a failed attempt."""
    if isinstance(exc, JobError):
        return FailureReport(exc.code, one_line(exc.summary))
    if statement_timed_out(exc) or isinstance(exc, TimeoutError):
        return FailureReport(ErrorCode.TIMEOUT, "timed out")
    reason = unavailability(exc)  # PostgreSQL away, or any connection refused or reset
    if reason is not None:
        return FailureReport(ErrorCode.SERVICE_UNAVAILABLE, one_line(f"unavailable: {reason}"))
    if isinstance(exc, procrastinate_errors.TaskNotFound):
        return FailureReport(ErrorCode.INTERNAL, "no worker knows this task")
    # The class name only: it says what kind of bug without carrying the message's data.
    return FailureReport(ErrorCode.INTERNAL, one_line(f"unexpected {type(exc).__name__}"))
