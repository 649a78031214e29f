"""The fault harness's mixed load and what its clients believe was acknowledged.

Four kinds of client loop until told to stop: the dashboard (README query 1, admin), evaluateFlags
(a customer), recordCampaignEvents batches (a service, each batch under its own Idempotency-Key,
sent again with the same key until acknowledged) and redeemRewards of one point (each customer
under their own keys, likewise retried). A write's retries outlive the stop signal, so every write
that was tried ends acknowledged and the ledger is exact: what the database holds must equal it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from strawberry import relay

from bench.documents import APP_CONTEXT, CAMPAIGNS_PAGE, EVALUATE_FLAGS, last_days

RECORD = "mutation ($input: RecordCampaignEventsInput!) { recordCampaignEvents(input: $input) { accepted } }"
REDEEM = """mutation ($input: RedeemRewardsInput!) {
  redeemRewards(input: $input) { balance userErrors { code } }
}"""
BATCH = 20
# The GraphQL-over-HTTP media type, under which an answer with no data is a 5xx (application/json
# would be 200 whatever happened).
ACCEPT = {"accept": "application/graphql-response+json"}
# A write retried this long after the stop is reported as unacknowledged (and so, if applied, lost
# from the ledger's view): long past PostgreSQL's longest outage in the schedule.
RETRY_FOR_S = 60
RETRY_PAUSE_S = 0.1


@dataclass(frozen=True, slots=True)
class Sample:
    """One request: when it started (monotonic), its kind, status, first error code, latency."""

    at: float
    kind: str
    status: int
    code: str | None
    ms: float

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.code is None

    @property
    def ended(self) -> float:
        return self.at + self.ms / 1000


@dataclass
class Ledger:
    """What the clients were told was written."""

    events: int = 0
    redemptions: Counter[int] = field(default_factory=Counter)
    unacknowledged: int = 0
    samples: list[Sample] = field(default_factory=list)


@dataclass(frozen=True)
class Actors:
    base: str
    admin: str
    service: str
    customers: dict[int, str]  # user id -> bearer token
    campaign_ids: list[int]


async def _send(
    client: httpx.AsyncClient, ledger: Ledger, kind: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any] | None:
    """POST one operation and record its sample; the body when it answered without errors."""
    started = time.monotonic()
    code: str | None = None
    status = 0
    answer: dict[str, Any] | None = None
    try:
        response = await client.post("/graphql", json=body, headers=headers)
        status = response.status_code
        answer = response.json()
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if errors:
            code = str(errors[0].get("extensions", {}).get("code", "NO_CODE"))
    except httpx.HTTPError as exc:
        code = f"transport:{type(exc).__name__}"
    except ValueError:
        code = "NOT_JSON"
    ledger.samples.append(Sample(started, kind, status, code, (time.monotonic() - started) * 1000))
    return answer if status == 200 and code is None else None


async def _reads(
    client: httpx.AsyncClient, actors: Actors, ledger: Ledger, stop: asyncio.Event, n: int
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    dashboard = {"query": CAMPAIGNS_PAGE, "variables": {"range": last_days(today)}}
    flags = {"query": EVALUATE_FLAGS, "variables": {"context": {**APP_CONTEXT, "sessionId": f"s{n}"}}}
    customer = list(actors.customers.values())[n % len(actors.customers)]
    while not stop.is_set():
        await _send(client, ledger, "dashboard", dashboard, {"authorization": f"Bearer {actors.admin}"})
        await _send(client, ledger, "evaluateFlags", flags, {"authorization": f"Bearer {customer}"})


async def _until_acknowledged(
    client: httpx.AsyncClient, ledger: Ledger, kind: str, body: dict[str, Any], token: str
) -> dict[str, Any] | None:
    headers = {"authorization": f"Bearer {token}", "idempotency-key": uuid.uuid4().hex}
    deadline = time.monotonic() + RETRY_FOR_S
    while time.monotonic() < deadline:
        answer = await _send(client, ledger, kind, body, headers)
        if answer is not None:
            return answer
        await asyncio.sleep(RETRY_PAUSE_S)
    ledger.unacknowledged += 1
    return None


async def _ingestion(
    client: httpx.AsyncClient, actors: Actors, ledger: Ledger, stop: asyncio.Event, n: int
) -> None:
    gids = [relay.to_base64("Campaign", c) for c in actors.campaign_ids]
    while not stop.is_set():
        now = dt.datetime.now(dt.UTC)
        events = [
            {
                "campaignId": gids[(n + i) % len(gids)],
                "type": "IMPRESSION" if i % 4 else "CLICK",
                "occurredAt": (now - dt.timedelta(minutes=i + 1)).isoformat(),
                "segment": "loyal",
            }
            for i in range(BATCH)
        ]
        body = {"query": RECORD, "variables": {"input": {"events": events}}}
        answer = await _until_acknowledged(client, ledger, "ingest", body, actors.service)
        if answer is not None:
            ledger.events += int(answer["data"]["recordCampaignEvents"]["accepted"])


async def _redemptions(
    client: httpx.AsyncClient, actors: Actors, ledger: Ledger, stop: asyncio.Event, n: int
) -> None:
    users = sorted(actors.customers)[n::2] or sorted(actors.customers)
    body = {"query": REDEEM, "variables": {"input": {"points": 1}}}
    turn = 0
    while not stop.is_set():
        user = users[turn % len(users)]
        turn += 1
        answer = await _until_acknowledged(client, ledger, "redeem", body, actors.customers[user])
        if answer is not None and not answer["data"]["redeemRewards"]["userErrors"]:
            ledger.redemptions[user] += 1


async def run_load(
    actors: Actors, ledger: Ledger, stop: asyncio.Event, *, readers: int, writers: int
) -> None:
    """Every client until `stop`, then until each one's write in flight is acknowledged."""
    limits = httpx.Limits(max_connections=readers + 2 * writers)
    async with httpx.AsyncClient(base_url=actors.base, timeout=30, limits=limits, headers=ACCEPT) as client:
        loops = [_reads(client, actors, ledger, stop, n) for n in range(readers)]
        loops += [_ingestion(client, actors, ledger, stop, n) for n in range(writers)]
        loops += [_redemptions(client, actors, ledger, stop, n) for n in range(min(writers, 2))]
        await asyncio.gather(*loops)
