"""`send-password-reset`: mint an account's reset link and send it, retried while the provider fails.

Deferred by signUp, requestPasswordReset and adminResetPassword in their transactions
(resolvers/auth/reset_links.py). Each attempt commits a fresh token's hash (voiding the links before
it) and then sends; an attempt whose send failed leaves a link nobody received, which the next
attempt voids. The retries go on, never more than a tenth of a link's lifetime apart, until a link
would have expired had it been sent at once: then the job fails for admins to see (failedJobs).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import procrastinate
from procrastinate.job_context import JobContext

from core.delivery.log import masked_email
from core.errors import ErrorCode
from core.jobs.errors import JobError
from core.jobs.periodic import DELIVERY, in_transaction
from core.jobs.retry import Backoff
from core.notifier import RESET_LINK, NotDelivered, Notifier, notifier_for
from core.settings import Settings
from resolvers.auth import reset_links

log = logging.getLogger("swipesavvy.jobs")

# The lapse check ends the retries, not a count: this only bounds a runaway.
MAX_ATTEMPTS = 100

Run = Callable[[Callable[[Any], Awaitable[Any]]], Awaitable[Any]]


def retry_strategy(settings: Settings) -> Backoff:
    ttl_s = settings.password_reset_ttl_minutes * 60.0
    return Backoff(
        max_attempts=MAX_ATTEMPTS,
        base_s=settings.job_retry_base_s,
        max_s=min(settings.job_retry_max_s, ttl_s / 10),
    )


async def send_reset_link(
    run: Run, *, settings: Settings, notifier: Notifier, user_id: int, requested_at: str, now: dt.datetime
) -> bool:
    """One attempt: mint the link in a committed transaction (`run`), then send it. False when the
    account is gone or has no address (nothing to send); raises JobError when the send failed."""
    if reset_links.lapsed(dt.datetime.fromisoformat(requested_at), settings=settings, now=now):
        raise JobError(
            ErrorCode.SERVICE_UNAVAILABLE,
            "no reset link could be sent within a link's lifetime; the request lapsed",
            retry=False,
        )
    request = await run(
        lambda session: reset_links.mint_link(session, user_id=user_id, settings=settings, now=now)
    )
    if request is None:
        return False
    try:
        await notifier.send_password_reset(email=request.email, link=RESET_LINK.format(token=request.token))
    except NotDelivered as exc:
        log.warning("password reset for %s not delivered: %s", masked_email(request.email), exc.code)
        raise JobError(
            ErrorCode.SERVICE_UNAVAILABLE, f"reset link not delivered: {exc.code}", retry=exc.retry
        ) from None
    return True


def register(app: procrastinate.App, settings: Settings) -> None:
    @app.task(
        name=reset_links.TASK,
        queue=reset_links.QUEUE,
        retry=retry_strategy(settings),
        pass_context=True,
    )
    async def send_password_reset(context: JobContext, user_id: int, requested_at: str) -> bool:
        return await send_reset_link(
            lambda work: in_transaction(context, work),
            settings=settings,
            notifier=notifier_for(settings, context.additional_context[DELIVERY]),
            user_id=user_id,
            requested_at=requested_at,
            now=dt.datetime.now(dt.UTC),
        )
