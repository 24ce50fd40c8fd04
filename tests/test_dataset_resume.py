"""Data-set models end to end: save, resume, explain one sample, switch optimizer only on request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import stepgrad
from stepgrad.core import engine
from stepgrad.training.data import load_data, prepare
from stepgrad.training.loop import default_epochs, default_network, fit

pytest.importorskip("sklearn")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stepgrad", *args], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, COLUMNS="200"))


@pytest.mark.slow  # the digits data set, trained three times (xor resumes below)
def test_a_resumed_digits_run_equals_an_uninterrupted_one(tmp_path):
    assert run("train", "--data", "digits", "--epochs", "5", "--optimizer", "adam", "--save", "whole.toml",
               cwd=tmp_path).returncode == 0
    first = run("train", "--data", "digits", "--epochs", "3", "--optimizer", "adam", "--save", "part.toml", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    resumed = run("train", "part.toml", "--epochs", "2", "--save", "rest.toml", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "Final (iteration 225, 90 in this run)" in resumed.stdout
    assert [line.split("│")[1].strip() for line in resumed.stdout.splitlines() if line.startswith("│")] == ["4", "5"]
    whole, rest = stepgrad.load(tmp_path / "whole.toml"), stepgrad.load(tmp_path / "rest.toml")
    for a, b in zip(whole.weights + whole.biases, rest.weights + rest.biases):
        np.testing.assert_array_equal(a, b)
    assert rest.extra["data"]["source"] == "digits"


@pytest.mark.slow  # explains a 64-32-10 mini-batch of digits
def test_explain_one_sample_of_the_saved_data_set(tmp_path):
    assert run("train", "--data", "digits", "--epochs", "1", "--save", "dig.toml", cwd=tmp_path).returncode == 0
    shown = run("explain", "dig.toml", "--data", "digits", "--sample", "17", "--format", "json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    net = stepgrad.load(tmp_path / "dig.toml")
    train, _ = prepare(load_data("digits"), 0.2, 0)
    net.inputs, net.targets = train.inputs[16:17], train.targets[16:17]
    expected = engine.forward(net, net.inputs, targets=net.targets).error  # row 17 of the training split
    import json

    assert json.loads(shown.stdout)["values"]["E_total"] == pytest.approx(expected, rel=1e-12)
    remembered = run("explain", "dig.toml", "--sample", "17", "--format", "json", cwd=tmp_path)  # no --data
    assert json.loads(remembered.stdout)["values"]["E_total"] == pytest.approx(expected, rel=1e-12)
    unpicked = run("explain", "dig.toml", cwd=tmp_path)
    assert unpicked.returncode == 2 and "--sample N" in unpicked.stderr
    batch = run("explain", "dig.toml", "--batch", "0", "--only", "w1", cwd=tmp_path)
    assert batch.returncode == 0, batch.stderr


@pytest.mark.slow  # a process or a torch run: make test (CI)
def test_switching_optimizer_on_resume_needs_reset(tmp_path):
    assert run("train", "--data", "xor", "--epochs", "5", "--optimizer", "adam", "--save", "x.toml",
               cwd=tmp_path).returncode == 0
    refused = run("train", "x.toml", "--epochs", "2", "--optimizer", "sgd", cwd=tmp_path)
    assert refused.returncode == 2
    assert "--reset-optimizer" in refused.stderr and "Traceback" not in refused.stderr
    reset = run("train", "x.toml", "--epochs", "2", "--optimizer", "sgd", "--reset-optimizer", "--save", "y.toml",
                cwd=tmp_path)
    assert reset.returncode == 0, reset.stderr
    y = stepgrad.load(tmp_path / "y.toml")
    assert y.learning_rate == stepgrad.core.optim.get("sgd").learning_rate
    assert y.training is not None and y.training.optimizer is None  # sgd keeps no state


@pytest.mark.slow  # three CLI trainings
def test_a_changed_data_file_is_refused(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    assert run("train", "--data", "d.csv", "--epochs", "2", "--save", "m.toml", cwd=tmp_path).returncode == 0
    assert run("train", "m.toml", "--epochs", "1", cwd=tmp_path).returncode == 0
    csv.write_text("a,b,y\n0,0,1\n0,1,1\n1,0,1\n1,1,0\n")
    changed = run("train", "m.toml", "--epochs", "1", cwd=tmp_path)
    assert changed.returncode == 2 and "changed" in changed.stderr


def test_every_works_with_data(tmp_path):
    out = run("train", "--data", "xor", "--epochs", "10", "--every", "5", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert [line.split("│")[1].strip() for line in out.stdout.splitlines() if line.startswith("│")] == ["5", "10"]


def test_xor_defaults_learn_it():
    data = load_data("xor")
    net = default_network(data)
    history = fit(net, data, epochs=default_epochs(len(data), 32), evaluate_every=0)
    assert history.metrics["train_accuracy"] == 1.0
