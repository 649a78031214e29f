"""One latency round of bench/subscriptions.py against each server, and what it measures: arm every
swarm, make the event (a PUBLISH for the relay; a campaign's pause or start through our API), and
gather each subscriber's receipt of it."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import redis.asyncio as aioredis
from strawberry import relay as relay_ids

from bench.harness import LiveProcess
from bench.subscription_rows import Rows
from bench.ws_clients import SwarmProcess
from core.change_feed import CHANNEL
from core.tokens import mint_access_token
from core.viewer import Role

WAIT_S = 15.0  # for every subscriber's receipt of one round's event
MUTATION = (
    "mutation ($id: ID!) {{ {name}(input: {{id: $id}}) {{ campaign {{ status }} userErrors {{ code }} }} }}"
)
RELAY_PADDING = "x" * 120  # the relay's message about as long as the server's `next`
# Rounds run and not counted, per server: the first event after the subscribers opened meets the
# collector's first pass over their objects (a generation-1 collection of ~50 ms per 1,000 of them,
# seen with gc.callbacks), once; the figures are of the steady state after it.
WARMUP_ROUNDS = 1


@dataclass
class Figures:
    """One server's measures: RSS (KiB) per level, latencies (ms) per reference and round."""

    rss_kib: dict[int, int] = field(default_factory=dict)
    latency_ms: dict[str, list[list[float]]] = field(default_factory=dict)
    # The server's CPU time (all its threads) from arming a round to the last receipt.
    cpu_ms: list[float] = field(default_factory=list)
    missing: int = 0
    wrong: int = 0

    def add(self, reference: str, values: list[float]) -> None:
        self.latency_ms.setdefault(reference, []).append(values)


async def _receipts(
    swarms: list[SwarmProcess], number: int, trigger: Coroutine[Any, Any, None]
) -> tuple[list[list[Any]], int]:
    """Arm the swarms for round `number`, run `trigger` (a coroutine), and gather every receipt."""
    await asyncio.gather(*(s.ask({"arm": number}) for s in swarms))
    await trigger
    answers = await asyncio.gather(*(s.ask({"wait": WAIT_S}) for s in swarms))
    return [r for a in answers for r in a["received"]], sum(a["missing"] for a in answers)


class Rounds:
    """What one latency round does to each server, and what it measures."""

    def __init__(
        self, args: argparse.Namespace, rows: Rows, server: LiveProcess, redis_url: str, secret: str
    ) -> None:
        self.rows, self.server, self.prefix = rows, server, args.redis_prefix
        self.redis = aioredis.Redis.from_url(redis_url)
        self.channel = f"{self.prefix}relay"
        admin = mint_access_token(
            secret=secret, user_id=rows.admin_id, role=Role.ADMIN, ttl=dt.timedelta(hours=4)
        )
        self.headers = {"authorization": f"Bearer {admin}"}
        self.status = rows.status

    async def relay_round(self, swarms: list[SwarmProcess], number: int, figures: Figures) -> None:
        published = 0.0

        async def publish() -> None:
            nonlocal published
            published = time.time()
            body = orjson.dumps({"round": number, "publishedAt": published, "padding": RELAY_PADDING})
            await self.redis.publish(self.channel, body)

        received, missing = await _receipts(swarms, number, publish())
        figures.missing += missing
        figures.wrong += sum(1 for _, marker in received if orjson.loads(marker)["round"] != number)
        figures.add("publish", [(at - published) * 1000 for at, _ in received])

    async def server_round(
        self, swarms: list[SwarmProcess], number: int, figures: Figures, http: httpx.AsyncClient
    ) -> None:
        name = "pauseCampaign" if self.status == "running" else "startCampaign"
        heard: list[float] = []
        answered = 0.0
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(f"{self.prefix}{CHANNEL}")

        tag = f"campaigns.id={self.rows.campaign_id}".encode()

        async def listen() -> None:
            while not heard:
                message = await pubsub.get_message(timeout=WAIT_S)
                if message is not None and tag in message["data"]:
                    heard.append(time.time())

        async def mutate() -> None:
            nonlocal answered
            variables = {"id": relay_ids.to_base64("Campaign", self.rows.campaign_id)}
            body = {"query": MUTATION.format(name=name), "variables": variables}
            answer = (await http.post(f"{self.server.base}/graphql", json=body, headers=self.headers)).json()
            answered = time.time()
            payload = answer["data"][name]
            if payload["userErrors"]:
                raise RuntimeError(f"{name} refused: {answer}")
            self.status = payload["campaign"]["status"].lower()

        listener = asyncio.create_task(listen())
        try:
            received, missing = await _receipts(swarms, number, mutate())
            await asyncio.wait_for(listener, WAIT_S)
        finally:
            listener.cancel()
            await pubsub.aclose()
        figures.missing += missing
        markers = {marker for _, marker in received}
        committed = [m for m in markers if not m.startswith("!")]
        figures.wrong += sum(1 for _, marker in received if marker.startswith("!")) + max(
            0, len(committed) - 1
        )
        started = dt.datetime.fromisoformat(committed[0]).timestamp() if committed else answered
        figures.add("updatedAt", [(at - started) * 1000 for at, _ in received])
        figures.add("channel", [(at - heard[0]) * 1000 for at, _ in received])
        figures.add("answer", [(at - answered) * 1000 for at, _ in received])
