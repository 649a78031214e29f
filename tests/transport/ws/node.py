"""The npm graphql-ws client (tests/transport/ws/package.json, exact versions; protocol
graphql-transport-ws) on Node's `ws`, run by subscribe.mjs in a child process."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.transport.ws.world import ws_url

HERE = Path(__file__).resolve().parent
INSTALL_TIMEOUT_S = 300


def _client_package() -> Path:
    """tests/transport/ws/node_modules, installed from package.json (exact versions) when missing."""
    wanted = json.loads((HERE / "package.json").read_text())["dependencies"]
    for name, version in wanted.items():
        installed = HERE / "node_modules" / name / "package.json"
        if not installed.exists() or json.loads(installed.read_text())["version"] != version:
            break
    else:
        return HERE
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(
            "npm is needed to install the graphql-ws client for this test (apt-get install nodejs npm)"
        )
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--no-package-lock"],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    if done.returncode != 0:
        pytest.fail(f"npm install of graphql-ws failed:\n{done.stdout}\n{done.stderr}")
    return HERE


class Subscriber:
    """subscribe.mjs in a child process: what the client saw, one message at a time."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def next(self, *, skip_connected: bool = True) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                stderr = await self.process.stderr.read() if self.process.stderr else b""
                raise AssertionError(f"the client exited: {stderr.decode(errors='replace')}")
            seen: dict[str, Any] = json.loads(line)
            if not (skip_connected and seen["type"] == "connected"):
                return seen


@asynccontextmanager
async def subscribed(
    base: str, bearer: str, document: str, variables: dict[str, Any]
) -> AsyncIterator[Subscriber]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the graphql-ws client")
    process = await asyncio.create_subprocess_exec(
        node, "subscribe.mjs", ws_url(base), bearer, document, json.dumps(variables),
        cwd=_client_package(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield Subscriber(process)
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
