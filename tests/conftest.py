"""Shared test helpers, markers and settings.

`require_tool("pdflatex")` skips a test on a laptop without the tool, but under CI=true a missing
tool is a failure, never a skip (.ci/run installs chromium and TeX). A test that needs a system tool
carries its marker (`browser`, `latex`, `graphviz`), so `make check` can leave it out with `-m`:
require_tool fails a test that calls it without the marker, and a test that uses the `browser`
fixture is marked `browser` here; `slow_after` marks the tail of a long parametrization slow.
STEPGRAD_QUICK=1 (`make check`) runs fewer fuzz examples, a spread sample of long parametrizations, and leaves
out the longest tests that make up half the measured time (tests/quick_durations.json, `make quick-durations`).
Every test starts from the same random state.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# the marker a test needs before it may call each system tool
TOOL_MARKERS = {"chromium": "browser", "pdflatex": "latex", "pdftotext": "latex", "dot": "graphviz"}
QUICK = os.environ.get("STEPGRAD_QUICK", "") == "1"
ParameterSet = type(pytest.param())

try:  # the fuzz tests' settings: the same examples on every run; `make check` runs fewer of them
    from hypothesis import HealthCheck, settings
except ImportError:
    pass
else:
    for _name, _examples in (("full", 200), ("quick", 25)):
        settings.register_profile(_name, max_examples=_examples, deadline=None, derandomize=True, database=None,
                                  suppress_health_check=list(HealthCheck))
    settings.load_profile("quick" if QUICK else "full")

_running: list[pytest.Item] = []  # the test being set up, run or torn down (for require_tool)
# pytest loads this file as `conftest`; tests import it as `tests.conftest` or `conftest`: one module for all
sys.modules.setdefault("tests.conftest", sys.modules[__name__])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    _running.append(item)
    try:
        yield
    finally:
        _running.pop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Under CI=true a test that needs a system tool (marked browser, latex or graphviz) never skips: whatever made
    it skip (no Chromium, no Playwright, no uvicorn, no pdflatex) is a failure, so CI cannot pass by running less."""
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and os.environ.get("CI", "").lower() == "true") or hasattr(report, "wasxfail"):
        return
    marker = next((m for m in dict.fromkeys(TOOL_MARKERS.values()) if item.get_closest_marker(m)), None)
    if marker:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid} is marked {marker} and may not skip under CI=true: {reason}"


@pytest.fixture(autouse=True)
def _same_random_state() -> None:
    """Every test starts from the same global random state, whatever ran before it in its worker."""
    random.seed(0)
    np.random.seed(0)
    if "torch" in sys.modules:  # seeded only where a test module already imported it
        sys.modules["torch"].manual_seed(0)


SAMPLE = 24  # `make check` keeps about this many cases of a test parametrized over more (every k-th one)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups: dict[tuple[str, str], list[pytest.Item]] = {}
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
        if QUICK and getattr(item, "callspec", None) is not None:
            groups.setdefault((item.location[0], getattr(item, "originalname", item.name)), []).append(item)
    # A test parametrized over the registry x backends x networks grows with every entry: the fast loop runs an
    # evenly spread sample of its cases (the same ones every time), `make test` runs them all.
    for cases in groups.values():
        if len(cases) > SAMPLE:
            step = -(-len(cases) // SAMPLE)
            for k, item in enumerate(cases):
                if k % step:
                    item.add_marker(pytest.mark.slow)
    if QUICK and not config.getoption("--store-durations"):
        longest = _longest_tests()
        for item in items:
            if item.nodeid in longest:
                item.add_marker(pytest.mark.slow)


DURATIONS = ROOT / "tests" / "quick_durations.json"
QUICK_SHARE = 0.5  # `make check` leaves out the longest tests that together took this share of the measured time


def _longest_tests() -> set[str]:
    """The node ids of the longest tests, by the durations `make quick-durations` measured: the fewest that
    together took QUICK_SHARE of the time. A test measured since is run; CI (`make test`) runs them all."""
    try:
        durations: dict[str, float] = json.loads(DURATIONS.read_text())
    except (OSError, ValueError):
        return set()
    total, kept, longest = sum(durations.values()), 0.0, set()
    for nodeid, seconds in sorted(durations.items(), key=lambda kv: -kv[1]):
        if kept >= QUICK_SHARE * total:
            break
        longest.add(nodeid)
        kept += seconds
    return longest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--store-durations", action="store_true",
                     help="write each test's time to tests/quick_durations.json (make quick-durations)")


_measured: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _measured[report.nodeid] = _measured.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    if session.config.getoption("--store-durations", False) and not hasattr(session.config, "workerinput"):
        text = json.dumps({k: round(v, 3) for k, v in sorted(_measured.items())}, indent=0) + "\n"
        partial = DURATIONS.with_suffix(".part")
        partial.write_text(text)
        partial.replace(DURATIONS)


def slow_after(keep: int, values) -> list:
    """Parameters for @pytest.mark.parametrize: the first `keep` run in `make check`, the others are marked
    slow (the full suite runs them all). A tuple holds one value per argument name."""
    params = []
    for i, value in enumerate(values):
        if i < keep:
            params.append(value)
        elif isinstance(value, ParameterSet):
            params.append(pytest.param(*value.values, marks=[*value.marks, pytest.mark.slow], id=value.id))
        else:
            params.append(pytest.param(*(value if isinstance(value, tuple) else (value,)), marks=pytest.mark.slow))
    return params


def require_tool(name: str) -> str:
    """Path of a system tool; skip without it, except under CI=true where that is a failure."""
    marker = TOOL_MARKERS.get(os.path.basename(name))
    if marker and _running and _running[-1].get_closest_marker(marker) is None:
        pytest.fail(f"{_running[-1].nodeid} runs {os.path.basename(name)}: mark it @pytest.mark.{marker} "
                    "so that `make check` can leave it out")
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
