"""Two helpers of the flag snapshot's background work: one reload at a time, coalesced, and an outage
logged once rather than once per retry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Coalesced:
    """Runs `job` one at a time; every call returns once a run that started after it has ended (and
    raises what that run raised), and calls made while a run is going share the next one."""

    def __init__(self, job: Callable[[], Awaitable[None]]) -> None:
        self._job = job
        self._next: asyncio.Future[None] | None = None
        self._runner: asyncio.Task[None] | None = None

    async def __call__(self) -> None:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            # A caller that stopped waiting must not leave an exception nobody retrieves.
            self._next.add_done_callback(lambda f: f.cancelled() or f.exception())
        waiter = self._next
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())
        await asyncio.shield(waiter)

    async def _run(self) -> None:
        try:
            while self._next is not None:
                waiter, self._next = self._next, None
                try:
                    await self._job()
                except Exception as exc:  # noqa: BLE001 - handed to every caller of this run
                    waiter.set_exception(exc)
                else:
                    waiter.set_result(None)
        finally:
            self._runner = None

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        if self._next is not None:
            self._next.cancel()
            self._next = None


class Outage:
    """One log line when something starts failing and one when it works again, not one per try."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.down = False

    def failed(self, exc: BaseException) -> None:
        if not self.down:
            self.down = True
            # The kind of failure only: a database error's text carries its SQL and parameters.
            cause = getattr(exc, "orig", None) or exc
            log.warning("%s failing (%s); retrying", self.what, type(cause).__name__)

    def worked(self) -> None:
        if self.down:
            self.down = False
            log.warning("%s working again", self.what)
