"""Reset links go out through the `send-password-reset` job: the write defers it with the account's id
only, the job mints and sends the link, a failed send is tried again with a fresh link, and a request
older than a link's lifetime, or for an account erased meanwhile, sends nothing."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.jobs.errors import JobError
from core.notifier import NotDelivered
from core.settings import Settings
from jobs.auth import send_reset_link
from models.auth import PasswordResetToken
from models.users import User
from resolvers.auth import reset_links
from tests.auth.support import RecordingNotifier, run_reset_jobs
from tests.auth.test_signup_reset import NEW_PASSWORD, REQUEST, RESET

JOBS = text("SELECT args, queue_name, priority FROM procrastinate_jobs WHERE task_name = :task")


class DownNotifier:
    """A provider that is down: every send fails in a way worth retrying."""

    tried: ClassVar[list[str]] = []

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send_password_reset(self, *, email: str, link: str) -> None:
        self.tried.append(link)
        raise NotDelivered("PROVIDER_UNAVAILABLE", retry=True)


async def _jobs(db: AsyncSession) -> list[tuple[dict[str, object], str, int]]:
    rows = await db.execute(JOBS, {"task": reset_links.TASK})
    return [(row.args, row.queue_name, row.priority) for row in rows]


async def _live_tokens(db: AsyncSession, user_id: int) -> int:
    count = await db.scalar(
        select(func.count())
        .select_from(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
    )
    return int(count or 0)


async def test_the_request_defers_a_job_holding_no_secret_and_nothing_is_sent_before_it_runs(  # type: ignore[no-untyped-def]
    auth_gql, db: AsyncSession, person: User, settings: Settings
) -> None:
    answer = await auth_gql(REQUEST, {"email": "ann@example.com"}, deliver=False)

    assert answer.data["requestPasswordReset"] == {"ok": True, "userErrors": []}
    ((args, queue, priority),) = await _jobs(db)
    assert set(args) == {"user_id", "requested_at"} and args["user_id"] == person.id
    assert (queue, priority) == (reset_links.QUEUE, reset_links.PRIORITY)
    assert RecordingNotifier.sent == [] and await _live_tokens(db, person.id) == 0

    recording = settings.model_copy(update={"notifier": "tests.auth.support.RecordingNotifier"})
    assert await run_reset_jobs(db, recording) == 1
    ((email, link),) = RecordingNotifier.sent
    reset = await auth_gql(RESET, {"token": link.rsplit("/", 1)[1], "password": NEW_PASSWORD})
    assert email == "ann@example.com" and reset.data["resetPassword"]["ok"] is True


async def test_requests_while_the_job_waits_send_one_fresh_link(  # type: ignore[no-untyped-def]
    auth_gql, db: AsyncSession, person: User, settings: Settings
) -> None:
    for _ in range(3):
        await auth_gql(REQUEST, {"email": "ann@example.com"}, deliver=False)

    assert len(await _jobs(db)) == 1
    recording = settings.model_copy(update={"notifier": "tests.auth.support.RecordingNotifier"})
    await run_reset_jobs(db, recording)
    assert len(RecordingNotifier.sent) == 1 and await _live_tokens(db, person.id) == 1


async def test_a_failed_send_is_retried_and_only_the_link_that_arrived_works(  # type: ignore[no-untyped-def]
    auth_gql, db: AsyncSession, person: User, settings: Settings
) -> None:
    down = settings.model_copy(update={"notifier": "tests.auth.test_reset_link_job.DownNotifier"})
    DownNotifier.tried.clear()
    await auth_gql(REQUEST, {"email": "ann@example.com"}, deliver=False)
    ((args, _, _),) = await _jobs(db)

    with pytest.raises(JobError) as failed:
        await run_reset_jobs(db, down)
    assert failed.value.retry is True and "PROVIDER_UNAVAILABLE" in failed.value.summary

    # the engine's retry: the same arguments, once the provider is back
    recording = settings.model_copy(update={"notifier": "tests.auth.support.RecordingNotifier"})
    now = dt.datetime.now(dt.UTC)
    sent = await send_reset_link(
        lambda work: work(db),
        settings=recording,
        notifier=RecordingNotifier(recording),
        now=now,
        **args,  # type: ignore[arg-type]
    )
    assert sent is True
    ((_, link),) = RecordingNotifier.sent
    (unsent,) = DownNotifier.tried
    assert await _live_tokens(db, person.id) == 1
    refused = await auth_gql(RESET, {"token": unsent.rsplit("/", 1)[1], "password": NEW_PASSWORD})
    accepted = await auth_gql(RESET, {"token": link.rsplit("/", 1)[1], "password": NEW_PASSWORD})
    assert refused.data["resetPassword"]["ok"] is False and accepted.data["resetPassword"]["ok"] is True


async def test_a_request_older_than_a_link_lapses_without_a_link(  # type: ignore[no-untyped-def]
    db: AsyncSession, person: User, settings: Settings
) -> None:
    asked = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=settings.password_reset_ttl_minutes + 1)
    RecordingNotifier.sent.clear()

    with pytest.raises(JobError) as lapsed:
        await send_reset_link(
            lambda work: work(db),
            settings=settings,
            notifier=RecordingNotifier(settings),
            user_id=person.id,
            requested_at=asked.isoformat(),
            now=dt.datetime.now(dt.UTC),
        )

    assert lapsed.value.retry is False and "lapsed" in lapsed.value.summary
    assert RecordingNotifier.sent == [] and await _live_tokens(db, person.id) == 0


async def test_an_account_erased_before_the_job_ran_gets_nothing(  # type: ignore[no-untyped-def]
    auth_gql, db: AsyncSession, person: User, settings: Settings
) -> None:
    await auth_gql(REQUEST, {"email": "ann@example.com"}, deliver=False)
    person.email, person.deleted_at = None, dt.datetime.now(dt.UTC)
    await db.flush()

    recording = settings.model_copy(update={"notifier": "tests.auth.support.RecordingNotifier"})
    assert await run_reset_jobs(db, recording) == 1
    assert RecordingNotifier.sent == [] and await _live_tokens(db, person.id) == 0
