"""A reset link asked for while the mail server is down is not lost: a real worker tries again, admins
see why it failed meanwhile, and once the server (a real SMTP server) takes mail the link arrives and
sets the password."""

from __future__ import annotations

import re

from core.settings import Settings
from resolvers.auth import reset_links
from tests.auth.test_signup_reset import NEW_PASSWORD, REQUEST, RESET
from tests.delivery.servers import SmtpRecorder, smtp_server
from tests.delivery.test_smtp import parsed
from tests.jobs.support import fetch, job_settings, running_worker, wait_for_status, wait_until
from tests.models import factories as f

JOB = "SELECT id, attempts FROM procrastinate_jobs WHERE task_name = $1"
LAST_ERROR = "SELECT code, summary FROM job_errors WHERE job_id = $1"
LINK = re.compile(r"swipesavvy://reset-password/(\S+)")


async def test_a_link_asked_for_while_the_mail_server_is_down_arrives_once_it_is_back(  # type: ignore[no-untyped-def]
    live, scratch_db_url: str, settings: Settings
) -> None:
    async with live.sessionmaker() as session, session.begin():
        await f.make_user(session, email="ann@example.com")
    recorder = SmtpRecorder(unavailable=True)
    async with smtp_server(recorder) as port:
        worker = job_settings(
            settings,
            scratch_db_url,
            notifier="email",
            email_provider="smtp",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            delivery_breaker_open_s=0.2,
            job_retry_max_s=0.5,
        )
        answer = await live.execute(REQUEST, {"email": "ann@example.com"})
        assert answer.data["requestPasswordReset"] == {"ok": True, "userErrors": []}
        ((job_id, _),) = await fetch(scratch_db_url, JOB, reset_links.TASK)

        async with running_worker(worker):

            async def failed_twice() -> bool:
                ((_, attempts),) = await fetch(scratch_db_url, JOB, reset_links.TASK)
                return int(attempts) >= 2

            await wait_until(failed_twice, what="the worker never tried the reset link twice")
            assert recorder.messages == []
            ((code, summary),) = await fetch(scratch_db_url, LAST_ERROR, job_id)
            assert code == "SERVICE_UNAVAILABLE" and "not delivered" in summary

            recorder.unavailable = False
            assert await wait_for_status(scratch_db_url, job_id, "succeeded", "failed") == "succeeded"

    (message,) = [parsed(recorder, index) for index in range(len(recorder.messages))]
    assert message["To"] == "ann@example.com"
    token = LINK.search(message.get_content())
    assert token is not None
    reset = await live.execute(RESET, {"token": token.group(1), "password": NEW_PASSWORD})
    assert reset.data["resetPassword"] == {"ok": True, "userErrors": []}
