"""GraphiQL's subscription pane in headless Debian Chromium (driven by playwright-core, the exact
version of this folder's package.json) against a live server: a token typed in the headers pane, a
subscription run, a write over HTTP, the pushed result in the result pane; and nothing the page asks
for leaves this machine."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from core.settings import Settings
from tests.transport.conftest import serve
from tests.transport.npm import installed
from tests.transport.ws.world import SCHEDULE, World, make_world, post, ws_url

HERE = Path(__file__).resolve().parent
# Typed as a person would, the id written in: the variables pane stays empty.
STATUS = 'subscription {\n  campaignStatusChanged(id: "%s") {\n    id status name\n  }\n}\n'
# Chromium's start, GraphiQL's load and the push together; generous, never asserted as a speed.
BROWSER_DEADLINE_S = 90.0


@pytest.fixture
async def world(settings: Settings, scratch_db_url: str) -> World:
    return await make_world(settings, scratch_db_url)


class Browser:
    """browse.mjs in a child process: the JSON lines it prints, one at a time."""

    def __init__(self, process: asyncio.subprocess.Process, screenshot: Path) -> None:
        self.process = process
        self.screenshot = screenshot

    async def next(self, wanted: str) -> dict[str, Any]:
        assert self.process.stdout is not None and self.process.stderr is not None
        line = await self.process.stdout.readline()
        seen: dict[str, Any] = json.loads(line) if line else {"type": "exited"}
        if seen["type"] != wanted:
            stderr = (await self.process.stderr.read()).decode(errors="replace")
            shown = f"(what the page showed: {self.screenshot})"
            raise AssertionError(f"wanted {wanted!r} from the browser, got {seen} {shown}\n{stderr}")
        return seen


def _tools() -> tuple[str, str]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is needed for the GraphiQL browser test: apt-get install chromium")
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to drive Chromium (playwright-core): apt-get install nodejs npm")
    return chromium, node


async def test_a_subscription_run_in_graphiql_shows_what_the_server_pushes(
    world: World, scratch_db_url: str, services: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    chromium, node = _tools()
    driver = installed(HERE, "playwright-core")
    headers = json.dumps({"Authorization": f"Bearer {world.merchant}"})
    env = {"REDIS_KEY_PREFIX": redis_prefix, "GRAPHIQL": "true"}
    with serve(scratch_db_url, services["redis_url"], tmp_path / "server.log", **env) as base:
        process = await asyncio.create_subprocess_exec(
            node, "browse.mjs", chromium, f"{base}/graphql", headers, STATUS % world.campaign,
            '"DRAFT"', '"SCHEDULED"', str(tmp_path / "graphiql.png"),
            cwd=driver, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        browser = Browser(process, tmp_path / "graphiql.png")
        try:
            async with asyncio.timeout(BROWSER_DEADLINE_S):
                # given the merchant's subscription running in GraphiQL, showing the campaign as it is
                await browser.next("live")
                # when a marketer schedules the campaign over HTTP
                written = await post(base, world.marketer, SCHEDULE, {"id": world.campaign})
                pushed = await browser.next("pushed")
                report = await browser.next("report")
        finally:
            if process.returncode is None:
                process.terminate()
            await process.wait()

    # then the result pane shows the pushed status
    assert written["data"]["scheduleCampaign"]["userErrors"] == []  # type: ignore[index]
    shown = json.loads(pushed["result"])["data"]["campaignStatusChanged"]
    assert shown == {"id": world.campaign, "status": "SCHEDULED", "name": "Spring"}
    # and the page asked this server only, over HTTP and over the WebSocket on /graphql
    assert report["blocked"] == []
    assert report["requests"] and {_origin(url) for url in report["requests"]} == {base}
    assert report["sockets"] and set(report["sockets"]) == {ws_url(base)}
    # whose connection_init carried the token typed in the headers pane, and no other header
    assert report["inits"] == [{"Authorization": f"Bearer {world.merchant}"}]
    # with nothing refused by its Content-Security-Policy, nor any script error
    assert report["console"] == []


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
