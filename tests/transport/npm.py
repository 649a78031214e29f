"""The npm packages the real-client tests drive (graphql-http's audit, Apollo Client, graphql-ws),
each folder's exact versions in its package.json, installed by the test that needs them."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path

import pytest

INSTALL_TIMEOUT_S = 300


def installed(folder: Path, what: str) -> Path:
    """`folder`, with node_modules holding exactly the versions its package.json names (installed,
    without a lock file, when one is missing or another version); the test fails, not skips, when npm
    is missing or the install fails."""
    wanted = json.loads((folder / "package.json").read_text())["dependencies"]
    if all(_version(folder, name) == version for name, version in wanted.items()):
        return folder
    # Two test runs at once (CI runs both paths side by side) would install into one folder together:
    # the second waits for the first, then finds the packages there.
    with (folder / ".npm-install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not all(_version(folder, name) == version for name, version in wanted.items()):
            _install(folder, what)
    return folder


def _install(folder: Path, what: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"npm is needed to install {what} for this test (apt-get install nodejs npm)")
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--no-package-lock"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    if done.returncode != 0:
        pytest.fail(f"npm install of {what} failed:\n{done.stdout}\n{done.stderr}")


def _version(folder: Path, name: str) -> str | None:
    found = folder / "node_modules" / name / "package.json"
    return json.loads(found.read_text())["version"] if found.exists() else None
