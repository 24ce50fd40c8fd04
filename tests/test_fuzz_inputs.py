"""A property-based fuzz of everything a user hands stepgrad (issue 14): spec files, solutions, data
files and web API bodies. Whatever comes in, the answer is a result or a StepgradError (one line,
exit 2) or a 4xx; never another exception, never a 5xx, and no example that runs away. The examples
are the same on every run: 200 per target (tests/conftest.py's hypothesis profile), 25 in `make check`."""

from __future__ import annotations

import importlib
import io
import json
import pkgutil
import time
import warnings

import numpy as np
import pytest

import stepgrad

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from stepgrad.core.errors import StepgradError  # noqa: E402
from stepgrad.core.spec import KNOWN_KEYS, Network, builtin, loads  # noqa: E402

# Hypothesis also draws constants it finds in the local modules loaded so far, and which stepgrad modules
# a worker has loaded depends on the tests it ran before: load them all, so every run draws the same examples.
for _module in pkgutil.walk_packages(stepgrad.__path__, "stepgrad."):
    if not _module.name.endswith("__main__"):
        importlib.import_module(_module.name)

FUZZ = settings()  # the profile tests/conftest.py loads: derandomized, no deadline, 200 examples (check: 25)
SECONDS = 30.0  # one example, at most: a runaway guard, 10x the slowest seen (2 s, first imports, busy machine)

# -- building blocks -----------------------------------------------------------------------------------
HOSTILE = ["\x1b[2J", "\n", "'", '"', "\\", "=", "#", ",", "\x00", "\u2028", "[", "{"]
plain_texts = st.lists(st.characters(codec="utf-8") | st.sampled_from(HOSTILE), max_size=12).map("".join)
texts = st.lists(st.characters(codec="utf-8") | st.sampled_from([*HOSTILE, "\ud800"]), max_size=12).map("".join)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30), st.sampled_from([0, 1, 2, -1, 10**400, 2**63, 2**64]),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e308, -1e308, 5e-324, 1e-300]))
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
                      max_leaves=20)
small_layers = st.lists(st.integers(min_value=-2, max_value=5), min_size=0, max_size=4)
layers = small_layers | st.sampled_from([[2, 10**6], [10**5, 10**5], [2, 2**63], [1] * 40, "2-2-2"])


@st.composite
def spec_dicts(draw) -> dict:
    """Mostly-plausible specs: the real keys with plausible or hostile values, and a stray key or two."""
    spec: dict = {"layers": draw(layers)}
    # sorted: a set's order changes with each process's string hashing, and the draws below follow it
    for key in sorted(draw(st.sets(st.sampled_from(sorted(KNOWN_KEYS - {"layers"})), max_size=6))):
        spec[key] = draw(values)
    if draw(st.booleans()):
        width = spec["layers"] if isinstance(spec["layers"], list) and spec["layers"] else [2, 2]
        n_in, n_out = (width[0], width[-1]) if all(isinstance(n, int) and 0 < n < 6 for n in width) else (2, 2)
        sample = st.fixed_dictionaries({"inputs": st.lists(numbers, min_size=n_in, max_size=n_in),
                                        "targets": st.lists(numbers, min_size=n_out, max_size=n_out)})
        spec["samples"] = draw(st.lists(sample, min_size=1, max_size=3))
    if draw(st.booleans()):
        spec["activation"] = draw(st.sampled_from(["sigmoid", "tanh", "relu", "linear", "softmax", "nope"]))
    if draw(st.integers(0, 9)) == 0:
        spec[draw(texts)] = draw(values)
    return spec


def bounded(run):
    """Run `run()`; only StepgradError may come out, and it must finish within SECONDS."""
    start = time.monotonic()
    try:
        result = run()
    except StepgradError as exc:
        assert "\n" not in str(exc) and "\x1b" not in str(exc), str(exc)
        result = exc
    assert time.monotonic() - start < SECONDS, f"took {time.monotonic() - start:.1f} s"
    return result


# -- specs --------------------------------------------------------------------------------------------------
@FUZZ
@given(spec_dicts(), st.sampled_from(["json", "toml"]))
def test_fuzz_specs(spec, fmt):
    if fmt == "json":
        text = json.dumps(spec, allow_nan=False)
    else:
        import tomli_w

        try:
            text = tomli_w.dumps(spec)
        except (TypeError, ValueError):  # None or a top-level shape TOML cannot write: fuzz the JSON instead
            text = json.dumps(spec)
            fmt = "json"
    net = bounded(lambda: loads(text, fmt, f"fuzz.{fmt}"))
    if isinstance(net, Network) and net.inputs is not None and net.parameter_count <= 200:
        bounded(lambda: net.explain())
        bounded(lambda: net.train(3))


@FUZZ
@given(st.text(max_size=200), st.sampled_from(["json", "toml"]))
def test_fuzz_spec_text(text, fmt):
    bounded(lambda: loads(text, fmt, f"fuzz.{fmt}"))


# -- solutions -------------------------------------------------------------------------------------------
NAMES = ["out_h1", "net_o1", "E_total", "dE_total/dw5", "w5+", "zz", "w1", ""]
written = st.one_of(numbers.map(str), st.sampled_from(["0e999999", "1e-99999", "3.51 x 10^-5", ".5", "- 0.5",
                                                       "0." + "9" * 200, "nan", "1_0", "…", "0.59..."]), texts)


@st.composite
def solutions(draw) -> tuple[str, str]:
    fmt = draw(st.sampled_from(["text", "yaml", "json"]))
    pairs = draw(st.lists(st.tuples(st.sampled_from(NAMES) | texts, written), max_size=8))
    if fmt == "json":
        return fmt, json.dumps(dict(pairs)) if draw(st.booleans()) else draw(st.text(max_size=100))
    separator = " = " if fmt == "text" else ": "
    return fmt, "\n".join(f"{name}{separator}{value}" for name, value in pairs)


@FUZZ
@given(solutions())
def test_fuzz_solutions(solution):
    from stepgrad.teach.check import check
    from stepgrad.teach.check.solution import loads as read_solution

    fmt, text = solution
    answers = bounded(lambda: read_solution(text, fmt, f"fuzz.{fmt}"))
    if not isinstance(answers, StepgradError):
        report = bounded(lambda: check(builtin(), answers))
        if not isinstance(report, StepgradError):
            from stepgrad.teach.check.report import render_json

            json.loads(render_json(report))


# -- data files -----------------------------------------------------------------------------------------------
cells = st.one_of(numbers.map(str), st.sampled_from(["", " ", "1_000", "nan", "inf", '"1\n2"', "1e999", "x", "１２"]),
                  plain_texts)


@FUZZ
@given(st.lists(st.lists(cells, min_size=1, max_size=4), min_size=0, max_size=6),
       st.sampled_from([None, ["a"], ["y"], ["zz"]]), st.sampled_from([None, "y", "a"]))
def test_fuzz_csv(tmp_path_factory, rows, inputs, label):
    from stepgrad.training.data import from_csv

    path = tmp_path_factory.mktemp("csv") / "d.csv"
    path.write_text("\n".join([",".join(["a", "b", "y"][:max(1, len(rows[0]) if rows else 1)])] +
                              [",".join(r) for r in rows]), encoding="utf-8")
    bounded(lambda: from_csv(path, inputs=inputs, label=label))


arrays = st.sampled_from([
    np.zeros((3, 2)), np.arange(3), np.array([1 + 2j, 3j]), np.array(["a", "b"]), np.zeros((0, 2)),
    np.array([[np.nan, 1.0]]), np.zeros((2, 2, 2)), np.array([True, False]), np.full(2, np.inf),
    np.zeros(3, dtype=[("f", "f8")]), np.float16([1, 2]),
])


@FUZZ
@given(st.dictionaries(st.sampled_from(["inputs", "targets", "X", "y", "labels", "other"]), arrays, max_size=3),
       st.sampled_from([None, "y", "other"]))
def test_fuzz_npz(tmp_path_factory, contents, label):
    from stepgrad.training.data import from_npz

    path = tmp_path_factory.mktemp("npz") / "d.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        buffer = io.BytesIO()
        np.savez(buffer, **contents)
    path.write_bytes(buffer.getvalue())
    bounded(lambda: from_npz(path, label=label))


# -- web API bodies --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    pytest.importorskip("starlette")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from stepgrad.api.study_routes import routes
    from stepgrad.web.app import create_app

    with TestClient(create_app(time_limit=3, extra_routes=routes()), raise_server_exceptions=False, base_url="http://127.0.0.1:8000") as c:
        yield c


@st.composite
def bodies(draw) -> dict:
    body: dict = {}
    if draw(st.booleans()):
        body["spec"] = draw(spec_dicts() | texts)
    for key in sorted(draw(st.sets(st.sampled_from(["iterations", "every", "only", "digits", "format", "update_order",
                                                    "group", "derive", "show", "math_for", "spec_format", "view",
                                                    "name", "answers", "choice"]),
                                   max_size=4))):  # sorted: the same order in every process
        body[key] = draw(values | st.integers(0, 50))
    if isinstance(body.get("iterations"), int) and not isinstance(body["iterations"], bool):
        body["iterations"] = min(abs(body["iterations"]), 50)
    return body


@FUZZ
@given(st.sampled_from(["/api/explain", "/api/train", "/api/export", "/api/view", "/api/study/plan", "/api/study/rule",
                        "/api/study/answer"]), bodies())
def test_fuzz_api_bodies(client, endpoint, body):
    start = time.monotonic()
    r = client.post(endpoint, content=json.dumps(body).encode(), headers={"content-type": "application/json"})
    assert r.status_code < 500 or (endpoint == "/api/view" and r.status_code == 501), (r.status_code, r.text)
    assert time.monotonic() - start < SECONDS
    json.loads(r.text if r.headers["content-type"].startswith("application/json") else "{}",
               parse_constant=lambda name: pytest.fail(f"{name} in the answer"))


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_api_raw_bytes(client, raw):
    r = client.post("/api/train", content=raw, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500
