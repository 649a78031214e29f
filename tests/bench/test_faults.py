"""The fault harness's pieces that need no servers: recovery from samples, and the report's rows."""

from __future__ import annotations

from bench.fault_load import Sample
from bench.fault_report import RECOVERED_AFTER, Window, recovery_s, row


def _samples(outcomes: str, *, start: float = 0.0) -> list[Sample]:
    """One sample a tenth of a second apart per character: '.' a success, 'x' a 503."""
    return [
        Sample(
            start + i / 10,
            "dashboard",
            200 if c == "." else 503,
            None if c == "." else "SERVICE_UNAVAILABLE",
            5,
        )
        for i, c in enumerate(outcomes)
    ]


def test_recovery_starts_at_the_first_of_a_run_of_successes_after_the_fault() -> None:
    # a lone success after the end does not count as recovered; the run starting at 0.8 s does
    samples = _samples("xxxx" + "x.xx" + "." * RECOVERED_AFTER)
    assert recovery_s(samples, end=0.4) == 0.8 - 0.4


def test_never_recovered_is_reported_as_such() -> None:
    assert recovery_s(_samples("xx" + "." * (RECOVERED_AFTER - 1)), end=0.0) is None
    window = Window("postgres down", 0.0, 0.1, 10.0)
    assert row(window, _samples("xx" + "." * (RECOVERED_AFTER - 1)))["recovery s"] == "never"


def test_a_row_counts_failures_by_code_and_status() -> None:
    result = row(Window("w", 0.0, 0.5, 10.0), _samples("..xx" + "." * RECOVERED_AFTER))
    assert result["requests"] == str(4 + RECOVERED_AFTER)
    assert result["failures (kind:code n)"] == "dashboard:SERVICE_UNAVAILABLE 2"
    assert result["statuses"] == f"200:{2 + RECOVERED_AFTER} 503:2"


def test_a_request_counts_under_the_fault_it_ended_in() -> None:
    # given a request sent as the first fault settles (at 0.95 s) and cut by the next one, failing
    # 300 ms later, and one of the first fault's own, sent and answered inside it
    first, second = Window("redis frozen", 0.0, 0.5, 1.0), Window("postgres restart", 1.0, 1.0, 2.0)
    cut = Sample(0.95, "dashboard", 503, "SERVICE_UNAVAILABLE", 300)
    own = Sample(0.2, "dashboard", 200, None, 50)
    # then the failure is the second fault's
    assert row(first, [own, cut])["failed"] == "0"
    assert row(second, [own, cut])["failures (kind:code n)"] == "dashboard:SERVICE_UNAVAILABLE 1"
