"""Mini-batch training on data sets: reproducible, accurate, the CLI's JSON and progress."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stepgrad.training.data import load_data
from stepgrad.training.loop import default_network, fit


@pytest.fixture(scope="module")
def digits():
    return load_data("digits").split(0.2, seed=0)


def test_same_seed_same_history(digits):
    train, test = digits
    net = default_network(train, seed=0, optimizer="adam")
    a = fit(net, train, test, epochs=3, optimizer="adam", seed=5)
    b = fit(net, train, test, epochs=3, optimizer="adam", seed=5)
    c = fit(net, train, test, epochs=3, optimizer="adam", seed=6)
    assert a.errors == b.errors and [e["loss"] for e in a.epochs] == [e["loss"] for e in b.epochs]
    for x, y in zip(a.network.weights, b.network.weights):
        np.testing.assert_array_equal(x, y)
    assert a.errors != c.errors


def test_digits_default_recipe_reaches_95_percent(digits):
    train, test = digits
    history = fit(default_network(train, seed=0), train, test, epochs=20, batch_size=32, seed=0)
    assert history.metrics["test_accuracy"] >= 0.95
    assert history.iterations == 20 * int(np.ceil(len(train) / 32))
    assert len(history.epochs) == 20 and history.epochs[-1]["test_accuracy"] == history.metrics["test_accuracy"]


def test_float32_close_to_float64(digits):
    train, test = digits
    net = default_network(train, seed=1)
    a = fit(net, train, test, epochs=2, seed=1)
    b = fit(net, train, test, epochs=2, seed=1, dtype=np.float32)
    assert b.dtype == "float32"
    assert abs(a.metrics["loss"] - b.metrics["loss"]) < 1e-4


def test_epoch_equals_engine_steps_on_the_shuffled_batches(digits):
    from stepgrad.core import engine

    train, _ = digits
    small = train.take(np.arange(70))
    net = default_network(small, seed=2)
    history = fit(net, small, None, epochs=1, batch_size=32, seed=9)
    perm = np.random.default_rng((9, 1)).permutation(70)  # epoch 1 of seed 9
    ref = net.copy()
    for a in range(0, 70, 32):
        rows = perm[a:a + 32]
        engine.apply(ref, engine.step(ref, small.inputs[rows], small.targets[rows]))
    for x, y in zip(history.network.weights + history.network.biases, ref.weights + ref.biases):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)


def test_cli_xor_json(cli):
    result = cli("train", "--data", "xor", "--epochs", "300", "--batch-size", "4", "--optimizer", "adam",
                 "--learning-rate", "0.05", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["optimizer"] == "adam" and data["metrics"]["train_accuracy"] == 1.0
    assert data["iterations"] == 300 and len(data["epochs"]) == 300


@pytest.mark.slow
def test_cli_digits_text_shows_progress_and_table(cli):
    result = cli("train", "--data", "digits", "--epochs", "2", "--dtype", "float32")
    assert result.returncode == 0, result.stderr
    assert "test acc" in result.stdout and "Final (iteration 90)" in result.stdout


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_resumed_fit_equals_one_run(digits, optimizer):
    train, test = digits
    small = train.take(np.arange(200))
    net = default_network(small, seed=4, optimizer=optimizer)
    once = fit(net, small, None, epochs=4, optimizer=optimizer, seed=2).network
    half = fit(net, small, None, epochs=2, optimizer=optimizer, seed=2).network
    again = fit(half, small, None, epochs=2, optimizer=optimizer, seed=2)
    assert again.epochs[0]["epoch"] == 3 and again.start == half.training.iterations
    for a, b in zip(once.weights + once.biases, again.network.weights + again.network.biases):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow  # a process per case: make test (CI)
def test_plot_loss_curve(cli, tmp_path):
    path = tmp_path / "loss.png"
    result = cli("train", "--data", "xor", "--epochs", "20", "--batch-size", "4", "--plot", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_spec_names_its_data_relative_to_the_spec(cli, tmp_path):
    (tmp_path / "rows.csv").write_text("a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    spec = tmp_path / "net.toml"
    spec.write_text('layers = [2, 8, 1]\nactivations = ["tanh", "sigmoid"]\nloss = "cross_entropy"\n'
                    'learning_rate = 0.05\ndata = "rows.csv"\n')
    result = cli("train", str(spec), "--epochs", "5", "--batch-size", "2", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["iterations"] == 10 and data["data"].endswith("rows.csv")


def test_divergence_names_the_epoch(cli, tmp_path):
    spec = tmp_path / "net.toml"
    spec.write_text('layers = [2, 4, 1]\nactivation = "linear"\nlearning_rate = 50.0\n')
    result = cli("train", str(spec), "--data", "xor", "--epochs", "200", "--batch-size", "1", "--format", "json")
    assert result.returncode == 2
    assert "epoch" in result.stderr and "learning_rate" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
