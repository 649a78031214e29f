"""The npm graphql-ws client (tests/transport/ws/package.json, exact versions; protocol
graphql-transport-ws) on Node's `ws`, run by subscribe.mjs in a child process."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.transport.npm import installed
from tests.transport.ws.world import ws_url

HERE = Path(__file__).resolve().parent


def _client_package() -> Path:
    return installed(HERE, "the graphql-ws client")


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
