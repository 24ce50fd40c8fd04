"""A run that learns nothing says so: a flat error with dead ReLU neurons, saturated sigmoids, divergence."""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad
from stepgrad.training.diagnose import not_learning


def _relu_net(first_layer):
    return stepgrad.Network.from_dict({
        "layers": [2, 3, 1], "activation": "relu", "loss": "half_squared_error", "learning_rate": 0.1,
        "weights": [first_layer, [[0.5, 0.5, 0.5]]], "biases": [-1, 0.2], "update_biases": False,
        "samples": [{"inputs": [0.5, 0.1], "targets": [1.0]}, {"inputs": [0.2, 0.9], "targets": [0.0]}]})


def test_dead_relu_neurons_are_named_when_the_error_stays_flat():
    first = [[-1, -1], [-2, 0.5], [0.3, -3]]  # every neuron's net is negative for both samples
    net = _relu_net(first)
    nets = np.array(net.inputs) @ np.array(first).T - 1  # independent: the hidden nets, bias -1
    assert (nets < 0).all()
    (line,) = not_learning(stepgrad.train(net, 300), net.inputs)
    assert "did not change over 300 iterations" in line and "h1, h2, h3 output 0" in line


def test_one_dead_neuron_is_named_even_while_the_others_learn():
    net = _relu_net([[-1, -1], [2, 1.5], [1.8, 2.1]])
    lines = not_learning(stepgrad.train(net, 300), net.inputs)
    assert len(lines) == 1 and lines[0].startswith("h1 output 0 for every sample")


def test_saturated_sigmoids_are_named():
    net = stepgrad.builtin()
    net.weights[0] = net.weights[0] * 2000  # net_h1 = 0.05*300 + 0.1*400 + 0.35 = 55.35: slope e^-55
    (line,) = not_learning(stepgrad.train(net, 100), net.inputs)
    assert "h1" in line and "h2" in line and "saturated" in line


def test_divergence_names_the_learning_rate():
    net = stepgrad.Network.from_dict({"layers": [1, 1], "activation": "linear", "loss": "half_squared_error",
                                      "learning_rate": 5.0, "weights": [[[0.5]]], "biases": [0.0],
                                      "samples": [{"inputs": [1.0], "targets": [2.0]}]})
    history = stepgrad.train(net, 60)
    assert history.final_error > 10 * history.errors[0]  # independent of the check: it did diverge
    (line,) = not_learning(history, net.inputs)
    assert "the error grew" in line and "learning rate 5 is probably too large" in line


def test_a_run_that_learns_says_nothing():
    net = stepgrad.builtin()
    assert not_learning(stepgrad.train(net, 1000), net.inputs) == []


@pytest.mark.slow  # a process or a torch run: make test (CI)
def test_the_command_warns_and_strict_fails(tmp_path):
    import subprocess
    import sys

    spec = tmp_path / "dead.toml"
    spec.write_text('layers = [2, 2, 1]\nactivation = "relu"\nlearning_rate = 0.1\n'
                    'weights = [[[-1, -1], [-1, -1]], [[0.5, 0.5]]]\nbiases = [-1, 0.2]\n'
                    'samples = [{inputs = [0.5, 0.1], targets = [1.0]}]\n')
    run = [sys.executable, "-m", "stepgrad", "train", str(spec), "--iterations", "200", "--format", "json"]
    quiet = subprocess.run(run, capture_output=True, text=True)
    assert quiet.returncode == 0 and "warning: the error did not change" in quiet.stderr
    strict = subprocess.run(run + ["--strict"], capture_output=True, text=True)
    assert strict.returncode == 1 and '"final_error"' in strict.stdout  # the report, then the failure
    assert strict.stderr.strip().splitlines()[-1].startswith("stepgrad: error: the run did not learn")
    healthy = subprocess.run([sys.executable, "-m", "stepgrad", "train", "--iterations", "500", "--strict"],
                             capture_output=True, text=True)
    assert healthy.returncode == 0 and "warning" not in healthy.stderr
