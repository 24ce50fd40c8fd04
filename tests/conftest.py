"""Shared test helpers.

`require_tool("pdflatex")` skips a test on a laptop without the tool, but under CI=true a missing
tool is a failure, never a skip (.ci/run installs chromium and TeX).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_tool(name: str) -> str:
    """Path of a system tool; skip without it, except under CI=true where that is a failure."""
    path = shutil.which(name) or (name if os.path.isabs(name) and os.path.exists(name) else None)
    if path:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{name} is required under CI=true but is not installed")
    pytest.skip(f"{name} not installed")


def run_cli(*args: str, input: str | None = None, cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m stepgrad ARGS` in a subprocess and capture its output."""
    return subprocess.run([sys.executable, "-m", "stepgrad", *args], capture_output=True, text=True,
                          input=input, cwd=cwd, timeout=300)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for test artifacts (screenshots, PDFs) kept after the run."""
    path = ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, driven by Playwright: one per test module (CI=true: a missing one fails)."""
    require_tool(CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
