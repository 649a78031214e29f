"""SIGTERM to a live `serve` under load: /readyz turns 503 while requests are still served, then the
listener closes, every request in flight completes with 200, WebSockets of both protocols are closed
with 1001 and the process exits 0 (issue 14, part 5)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from core.settings import Settings
from tests.jobs.support import fetch
from tests.transport.drain_support import (
    WAIT_S,
    close_of,
    exit_code,
    refused,
    serving,
    slow_request,
    stop,
    subscribed,
    table_locked,
    wait_for_waiting_reads,
)
from tests.transport.ws.world import make_world

IN_FLIGHT = 4
# Long enough for the test to see the draining phase on a loaded machine; the grace outlasts the test.
DRAIN = {"DRAIN_READY_DELAY_S": "3", "DRAIN_GRACE_S": "60"}


async def _readyz_draining(base: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client, asyncio.timeout(WAIT_S):
        while True:
            response = await client.get(f"{base}/readyz")
            if response.status_code != 200:
                return response
            await asyncio.sleep(0.05)


async def test_sigterm_drains_one_worker_without_failing_a_request(
    settings: Settings, scratch_db_url: str, services: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    world = await make_world(settings, scratch_db_url)
    log = tmp_path / "serve.log"
    env = {"REDIS_KEY_PREFIX": redis_prefix, **DRAIN}
    with serving(scratch_db_url, services["redis_url"], log, **env) as served:
        async with (
            subscribed(served.base, world.merchant, world.campaign, "graphql-transport-ws") as modern,
            subscribed(served.base, world.merchant, world.campaign, "graphql-ws") as legacy,
            table_locked(scratch_db_url),
        ):
            # given requests in flight (held by the lock) and two live subscriptions
            held = [asyncio.create_task(slow_request(served.base)) for _ in range(IN_FLIGHT)]
            await wait_for_waiting_reads(scratch_db_url, IN_FLIGHT)

            # when the server gets SIGTERM
            stop(served)

            # then it stops being ready first, saying why, and still serves (telling clients to go)
            readiness = await _readyz_draining(served.base)
            assert readiness.status_code == 503
            assert readiness.json() == {"status": "draining", "reason": "SIGTERM received"}
            async with httpx.AsyncClient(timeout=5) as client:
                meanwhile = await client.post(f"{served.base}/graphql", json={"query": "{ __typename }"})
            assert (meanwhile.status_code, meanwhile.json()["data"]) == (200, {"__typename": "Query"})
            assert meanwhile.headers["connection"] == "close"
            assert not any(task.done() for task in held)

            # then the WebSockets are sent away (1001) and new connections are refused, not answered 5xx
            assert await close_of(modern) == (1001, "Server shutting down: reconnect")
            assert await close_of(legacy) == (1001, "Server shutting down: reconnect")
            await refused(served.base)
        # and once the lock is gone every request that was in flight is answered in full
        responses = await asyncio.gather(*held)
        assert [r.status_code for r in responses] == [200] * IN_FLIGHT
        bodies = [r.json() for r in responses]
        assert all("errors" not in body and body["data"]["merchantCategories"] for body in bodies), bodies
        assert await exit_code(served) == 0, served.output()
    assert "Traceback" not in log.read_text(errors="replace")


async def test_sigterm_drains_two_workers_and_the_job_worker(
    scratch_db_url: str, services: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    log = tmp_path / "serve.log"
    env = {"REDIS_KEY_PREFIX": redis_prefix, "JOB_WORKER_IN_SERVER": "true", **DRAIN}
    with serving(scratch_db_url, services["redis_url"], log, "--workers", "2", **env) as served:
        async with table_locked(scratch_db_url):
            held = [asyncio.create_task(slow_request(served.base)) for _ in range(IN_FLIGHT)]
            await wait_for_waiting_reads(scratch_db_url, IN_FLIGHT)

            stop(served)

            assert (await _readyz_draining(served.base)).json()["status"] == "draining"
            await refused(served.base)
        responses = await asyncio.gather(*held)
        assert [r.status_code for r in responses] == [200] * IN_FLIGHT
        assert await exit_code(served) == 0, served.output()
    # the job worker beside them stopped too, unregistered
    assert await fetch(scratch_db_url, "SELECT 1 FROM procrastinate_workers") == []
    assert "Traceback" not in log.read_text(errors="replace")


async def test_a_second_sigterm_stops_at_once(
    scratch_db_url: str, services: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    # given a drain that would last minutes, with requests that cannot finish
    env = {"REDIS_KEY_PREFIX": redis_prefix, "DRAIN_READY_DELAY_S": "300", "DRAIN_GRACE_S": "300"}
    with serving(scratch_db_url, services["redis_url"], tmp_path / "serve.log", **env) as served:
        async with table_locked(scratch_db_url):
            held = [asyncio.create_task(slow_request(served.base)) for _ in range(2)]
            await wait_for_waiting_reads(scratch_db_url, 2)
            stop(served)
            await _readyz_draining(served.base)
            # when a second SIGTERM comes
            stop(served)
            # then the server stops now (WAIT_S is far below the delay), the held requests cut off
            # with a code to retry on, never a 500
            responses = await asyncio.gather(*held)
            assert await exit_code(served) == 0, served.output()
    assert [r.status_code for r in responses] == [503, 503]
    assert {r.json()["errors"][0]["extensions"]["code"] for r in responses} == {"SERVICE_UNAVAILABLE"}
    assert "Traceback" not in served.output()
