"""The flag snapshot of one worker, kept current: what evaluateFlags answers from.

How a change reaches every worker (each process runs one LiveFlags, made by server.py's lifespan):
1. The write's transaction bumps the version row (a trigger, migration 0008), so the change and its
   version commit together, whoever wrote them.
2. After the commit, the writing worker's change subscriber (`on_changes`) publishes on the Redis
   channel `<REDIS_KEY_PREFIX>flags:changed` and reloads its own snapshot before the mutation answers:
   the client's next evaluation on that worker sees its write.
3. Every worker listens on the channel and reloads when told.
4. The safety net: every FLAG_SNAPSHOT_POLL_S each worker reads the version alone (one indexed row)
   and reloads on a difference, so a lost message, Redis being down or a write made in psql costs at
   most one poll interval. The outer bound: data FLAG_SNAPSHOT_MAX_AGE_S old is reloaded whatever the
   version says, and a snapshot no check has confirmed for that long is not used (the database path
   answers instead).
A reload runs one at a time per worker; every call made while one runs shares the single reload that
follows it, so a burst of messages costs two reloads, not one per message. The snapshot uses its own
small engine on the primary: requests filling the main pool do not delay it, and a replica's lag
cannot make it load an older version than the one announced.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from sqlalchemy.ext.asyncio import AsyncEngine

from core.changes import Changes
from core.database import READ_SNAPSHOT, create_engine
from core.services import Services
from core.settings import Settings
from resolvers.flags.evaluation import Evaluation
from resolvers.flags.reloading import Coalesced, Outage
from resolvers.flags.snapshot import EVALUATED_TABLES, FlagSnapshot, load_snapshot, read_version
from resolvers.flags.usage_counts import EvaluationCounts, utc_day_number
from resolvers.flags.usage_writes import add_evaluation_counts

log = logging.getLogger(__name__)

CHANNEL = "flags:changed"
# The snapshot's own pool: a reload, a poll and a flush may overlap.
POOL_SIZE = 2
# How long one wait for a pub/sub message lasts before the loop looks again (and notices a stop).
LISTEN_WAIT_S = 1.0
CANCEL_AGAIN_S = 0.2
# Redis unreachable: wait this long before subscribing again, doubling up to the most.
RESUBSCRIBE_FIRST_S, RESUBSCRIBE_MOST_S = 0.5, 10.0


@dataclass
class SyncStats:
    """What the snapshot did, for tests and the bench: runs of the reload, full loads, version polls,
    messages heard and sent."""

    reloads: int = 0
    loads: int = 0
    polls: int = 0
    heard: int = 0
    announced: int = 0


class LiveFlags:
    def __init__(
        self, *, settings: Settings, redis: aioredis.Redis, engine: AsyncEngine | None = None
    ) -> None:
        self._settings = settings
        self._redis = redis
        self._own_engine = engine is None
        self._engine = engine or create_engine(settings.database_url or "", settings, pool_size=POOL_SIZE)
        self.channel = f"{settings.redis_key_prefix}{CHANNEL}"
        self.current: FlagSnapshot | None = None
        self.counts = EvaluationCounts()
        self.stats = SyncStats()
        self._loaded_at = self._confirmed_at = 0.0
        self._full_next = False
        self._reload = Coalesced(self._reload_once)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._redis_outage = Outage("flag snapshot: redis pub/sub")
        self._db_outage = Outage("flag snapshot: version check")
        self._flush_outage = Outage("flag evaluation counts: flush")

    # ------------------------------------------------------------------ the evaluation's side

    def snapshot(self) -> FlagSnapshot | None:
        """The snapshot to evaluate from, or None (not loaded yet, or unconfirmed for too long)."""
        if (
            self.current is None
            or time.monotonic() - self._confirmed_at > self._settings.flag_snapshot_max_age_s
        ):
            return None
        return self.current

    def evaluate(
        self,
        snapshot: FlagSnapshot,
        *,
        keys: Sequence[str] | None,
        segment: str | None,
        stickiness: str | None,
    ) -> list[Evaluation]:
        """Evaluate from `snapshot` and count each known flag's evaluation (no I/O)."""
        results = snapshot.evaluate(keys=keys, segment=segment, stickiness=stickiness)
        self.counts.add(utc_day_number(), [(flag.id, e.value) for flag, e in results if flag is not None])
        return [evaluation for _, evaluation in results]

    # ------------------------------------------------------------------ keeping it current

    async def start(self) -> None:
        """Load the first snapshot (the database path answers until one loads) and start the loops."""
        try:
            await self.reload()
        except Exception as exc:  # noqa: BLE001 - the poll loads it once the database answers
            self._db_outage.failed(exc)
        self._tasks = [
            asyncio.create_task(self._poll_loop(), name="flag-snapshot-poll"),
            asyncio.create_task(self._listen_loop(), name="flag-snapshot-listen"),
            asyncio.create_task(self._flush_loop(), name="flag-usage-flush"),
        ]

    async def stop(self) -> None:
        """Stop the loops, write what is still counted, and close the snapshot's engine."""
        self._stopping = True
        tasks, self._tasks = self._tasks, []
        await _cancel(tasks)
        await self._reload.stop()
        await self.flush()
        if self._own_engine:
            await self._engine.dispose()

    async def reload(self, *, full: bool = False) -> None:
        """Bring the snapshot to the database's version (coalesced; raises when the reload failed)."""
        if full:
            self._full_next = True
        await self._reload()

    async def on_changes(self, changes: Changes) -> None:
        """After-commit subscriber: a flag write committed here; tell every worker, then reload."""
        if not changes.tables & EVALUATED_TABLES:
            return
        await self.announce()
        try:
            await self.reload()
        except Exception as exc:  # noqa: BLE001 - the poll retries; the write has committed
            self._db_outage.failed(exc)

    async def announce(self) -> None:
        try:
            await self._redis.publish(self.channel, b"1")
            self.stats.announced += 1
        except Exception as exc:  # noqa: BLE001 - Redis down: every worker's poll finds the version
            self._redis_outage.failed(exc)

    async def _reload_once(self) -> None:
        full, self._full_next = self._full_next, False
        started = time.monotonic()
        self.stats.reloads += 1
        async with self._engine.connect() as connection:
            await connection.execution_options(**READ_SNAPSHOT)
            async with connection.begin():
                version = await read_version(connection)
                current = self.current
                if current is not None and current.version == version and not full:
                    self._confirmed_at = started
                    return
                fresh = await load_snapshot(connection, version=version)
        self.current = fresh
        self._loaded_at = self._confirmed_at = started
        self.stats.loads += 1
        self._db_outage.worked()

    async def poll(self) -> None:
        """One safety-net check: reload on a new version, or everything when the data is too old."""
        started = time.monotonic()
        current = self.current
        if current is None or started - self._loaded_at >= self._settings.flag_snapshot_max_age_s:
            await self.reload(full=True)
            return
        async with self._engine.connect() as connection:
            version = await read_version(connection)
        self.stats.polls += 1
        if version != current.version:
            await self.reload()
        elif self.current is current:
            self._confirmed_at = started
        self._db_outage.worked()

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.flag_snapshot_poll_s)
            try:
                await self.poll()
            except Exception as exc:  # noqa: BLE001 - the database is away; try again next time
                self._db_outage.failed(exc)

    async def _listen_loop(self) -> None:
        pause, subscribed_before = RESUBSCRIBE_FIRST_S, False
        while not self._stopping:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._redis_outage.worked()
                pause = RESUBSCRIBE_FIRST_S
                if subscribed_before:
                    await self._reload_quietly()  # what a message lost while away would have said
                subscribed_before = True
                while not self._stopping:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=LISTEN_WAIT_S)
                    if message is not None and message.get("type") == "message":
                        self.stats.heard += 1
                        await self._reload_quietly()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: the poll carries changes meanwhile
                self._redis_outage.failed(exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, RESUBSCRIBE_MOST_S)
            finally:
                await _close(pubsub)

    async def _reload_quietly(self) -> None:
        try:
            await self.reload()
        except Exception as exc:  # noqa: BLE001 - the poll retries
            self._db_outage.failed(exc)

    # ------------------------------------------------------------------ evaluation counts

    async def flush(self) -> int:
        """Add the counted evaluations to feature_flag_analytics in one statement; on failure keep them
        for the next flush. Returns the rows written."""
        counts = self.counts.take()
        if not counts:
            return 0
        try:
            async with self._engine.begin() as connection:
                written = await add_evaluation_counts(connection, counts)
        except Exception as exc:  # noqa: BLE001 - counted again next time, within the bound
            self.counts.give_back(counts)
            self._flush_outage.failed(exc)
            return 0
        self._flush_outage.worked()
        return written

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.flag_usage_flush_s)
            await self.flush()


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the loops and wait for them to end. redis-py swallows a cancellation that lands while a
    pub/sub connection is being set up, so a loop still running is cancelled again (and `_stopping`
    ends it at its next wait)."""
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=CANCEL_AGAIN_S)


async def _close(pubsub: PubSub) -> None:
    try:
        await pubsub.aclose()
    except Exception:  # noqa: BLE001 - a connection already lost has nothing left to close
        pass


def live_flags(services: Services) -> LiveFlags | None:
    """The worker's running snapshot service, if the lifespan started one."""
    found = services.flags
    return found if isinstance(found, LiveFlags) else None
