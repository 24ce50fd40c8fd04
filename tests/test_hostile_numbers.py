"""Divergence is an error on every backend, the last iteration included, and no JSON carries inf or
NaN (issue 14). The diverging run is worked out by hand: a linear 2-2-2 with learning rate 1e6
squares its weights' size each step (about 1e17, 1e73, 1e240), so the outputs after step 4
overflow while every weight is still finite."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import numpy as np
import pytest

from stepgrad.core.errors import DivergenceError
from stepgrad.core.spec import Network

training = importlib.import_module("stepgrad.training.loop")

LINEAR = {
    "layers": [2, 2, 2], "activations": ["linear", "linear"], "learning_rate": 1e6,
    "weights": [[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]], "biases": [0.35, 0.6],
    "samples": [{"inputs": [0.05, 0.1], "targets": [0.01, 0.99]}],
}
BACKENDS = {"engine": (), "pure": (training.pure,), "tiny": (training.tiny,)}


@pytest.fixture(params=list(BACKENDS))
def backend(request, monkeypatch):
    if request.param == "tiny" and not training.tiny.available():
        pytest.skip("numba is not installed")
    monkeypatch.setattr(training, "COMPILED", BACKENDS[request.param])
    net = Network.from_dict(LINEAR)
    chosen = training.compiled_backend(net, np.float64, "sgd", "synchronous")
    assert chosen is (BACKENDS[request.param][0] if BACKENDS[request.param] else None)
    return request.param


def test_three_steps_are_finite(backend):
    history = training.train(Network.from_dict(LINEAR), 3)
    assert np.isfinite(history.errors).all() and np.isfinite(history.final_error)
    json.dumps(history.to_dict(), allow_nan=False)


def test_divergence_after_the_last_step_names_it(backend):
    with pytest.raises(DivergenceError, match=r"iteration 4: out_o1 is not a finite number"):
        training.train(Network.from_dict(LINEAR), 4)


def test_a_diverging_bias_is_caught(backend):
    spec = dict(LINEAR, update_biases=True, biases=[[0.0, 0.0], [0.0, 0.0]],
                weights=[[[0, 0], [0, 0]], [[0, 0], [0, 0]]], learning_rate=1e300,
                samples=[{"inputs": [0.0, 0.0], "targets": [1e10, 0.0]}])
    # the first step moves only b_o1 (every other gradient is 0): by 1e300 x 1e10, an overflow
    with pytest.raises(DivergenceError, match=r"iteration 1: b_o1 is not a finite number|E_total"):
        training.train(Network.from_dict(spec), 1)


def test_fit_divergence_is_an_error():
    from stepgrad.training.data import Dataset

    x = np.array([[0.05, 0.1], [0.2, 0.3]])
    t = np.array([[0.01, 0.99], [0.5, 0.5]])
    data = Dataset(x, t, name="two rows")
    with pytest.raises(DivergenceError):
        training.fit(Network.from_dict(dict(LINEAR, learning_rate=1e8)), data, epochs=6, batch_size=2)


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stepgrad", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


@pytest.mark.slow  # three CLI trainings; tests/test_spec_errors.py checks the same refusal once
def test_cli_exit_2_naming_iteration_and_quantity(tmp_path):
    (tmp_path / "lin.json").write_text(json.dumps(LINEAR))
    for fmt in ("text", "json"):
        r = run_cli("train", "lin.json", "-n", "4", "--format", fmt, cwd=tmp_path)
        assert r.returncode == 2, r.stderr
        assert "Traceback" not in r.stderr and "iteration 4" in r.stderr and "out_o1" in r.stderr
    r = run_cli("train", "lin.json", "-n", "3", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0
    json.loads(r.stdout, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))


def test_api_divergence_is_422_not_500():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from stepgrad.web.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1:8000") as client:
        r = client.post("/api/train", json={"spec": LINEAR, "iterations": 4})
        assert r.status_code == 422 and "iteration 4" in r.json()["error"]
        r = client.post("/api/train", json={"spec": LINEAR, "iterations": 3})
        assert r.status_code == 200
