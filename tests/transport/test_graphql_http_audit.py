"""The graphql-http audit suite (npm) against a live server: no MUST or SHOULD audit may fail."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
INSTALL_TIMEOUT_S = 300
AUDIT_TIMEOUT_S = 120


def _audit_package() -> Path:
    """tests/transport/node_modules, installed from package.json (exact versions) when missing."""
    wanted = json.loads((HERE / "package.json").read_text())["dependencies"]["graphql-http"]
    installed = HERE / "node_modules" / "graphql-http" / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == wanted:
        return HERE
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to install the graphql-http audit suite (apt-get install nodejs npm)")
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--no-package-lock"],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    if done.returncode != 0:
        pytest.fail(f"npm install of graphql-http failed:\n{done.stdout}\n{done.stderr}")
    return HERE


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
