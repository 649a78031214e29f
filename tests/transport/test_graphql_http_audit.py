"""The graphql-http audit suite (npm) against a live server: no MUST or SHOULD audit may fail."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.transport.npm import installed

HERE = Path(__file__).resolve().parent
AUDIT_TIMEOUT_S = 120


def _audit_package() -> Path:
    return installed(HERE, "the graphql-http audit suite")


def test_no_must_or_should_audit_fails(live_server: str) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the graphql-http audit suite")
    cwd = _audit_package()

    done = subprocess.run(
        [node, "audit.mjs", f"{live_server}/graphql"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=AUDIT_TIMEOUT_S,
    )

    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert len(results) > 40, results  # the whole suite ran
    failed = [
        f"{r['id']} {r['name']}: {r['status']} ({r['reason']})"
        for r in results
        if r["name"].startswith(("MUST", "SHOULD")) and r["status"] != "ok"
    ]
    assert failed == []
