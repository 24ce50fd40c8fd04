"""`stepgrad export --code`: the script runs, and its first step equals stepgrad's (the reference is PyTorch running it)."""

from __future__ import annotations

import runpy
import subprocess
import sys

import numpy as np
import pytest

import stepgrad
from stepgrad.core.functions import ACTIVATIONS, LOSSES
from stepgrad.core.names import layout, updated
from stepgrad.interop.code import training_code

torch = pytest.importorskip("torch")


def _cases():
    for loss, entry in LOSSES.items():
        outputs = list(entry.combinations) or ["linear", "sigmoid"]
        for out in outputs:
            for optimizer in ("sgd", "momentum", "adam", "torch_sgd", "adamw"):
                yield loss, out, optimizer


def _network(loss: str, out: str, reduction: str, seed: int) -> stepgrad.Network:
    rng = np.random.default_rng(seed)
    combined = LOSSES[loss].combination(out)
    targets = rng.dirichlet(np.ones(3), size=4) if combined is not None and combined.distribution \
        else rng.uniform(0.1, 0.9, size=(4, 3))
    hidden = [a for a, e in ACTIVATIONS.items() if e.hidden_ok]
    return stepgrad.Network.from_dict({
        "layers": [2, 4, 3], "activations": [hidden[seed % len(hidden)], out], "loss": loss, "learning_rate": 0.3,
        "update_biases": True, "reduction": reduction,
        "weights": [rng.normal(size=(4, 2)).tolist(), rng.normal(size=(3, 4)).tolist()],
        "biases": [rng.normal(size=4).tolist(), rng.normal(size=3).tolist()],
        "samples": [{"inputs": x.tolist(), "targets": t.tolist()} for x, t in zip(rng.normal(size=(4, 2)), targets)],
    })


@pytest.mark.parametrize("loss, out, optimizer", list(_cases()))
def test_the_scripts_first_step_equals_stepgrads(tmp_path, loss, out, optimizer):
    for seed, reduction in ((1, "mean"), (2, "sum")):
        net = _network(loss, out, reduction, seed)
        script = tmp_path / "train.py"
        script.write_text(training_code(net, optimizer))
        module = runpy.run_path(str(script), run_name="exported")
        module["step"](module["inputs"], module["targets"])
        trace = stepgrad.explain(net, update_order="synchronous", optimizer=optimizer)
        names = layout(net.layers, net.shared_biases)
        for l, linear in enumerate(module["linears"]):
            ours_w = np.array([[trace.values[updated(w)] for w in row] for row in names.weights[l]])
            ours_b = np.array([trace.values[updated(b)] for b in names.biases[l]])
            np.testing.assert_allclose(linear.weight.detach().numpy(), ours_w, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(linear.bias.detach().numpy(), ours_b, rtol=1e-9, atol=1e-12)


@pytest.mark.slow  # runs the script under torch; its step is checked in process above
def test_the_exported_script_runs(tmp_path):
    out = subprocess.run([sys.executable, "-m", "stepgrad", "export", "--code", "train.py"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    ran = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    first = ran.stdout.splitlines()[0]
    assert first == f"iteration 0: E_total {stepgrad.explain(stepgrad.builtin()).values['E_total']:.9f}"


@pytest.mark.slow
def test_a_data_set_model_exports_a_script_that_trains(tmp_path):
    pytest.importorskip("sklearn")
    assert subprocess.run([sys.executable, "-m", "stepgrad", "train", "--data", "xor", "--epochs", "3", "--save",
                           "x.toml"], cwd=tmp_path, capture_output=True).returncode == 0
    assert subprocess.run([sys.executable, "-m", "stepgrad", "export", "x.toml", "--code", "x.py"], cwd=tmp_path,
                          capture_output=True).returncode == 0
    ran = subprocess.run([sys.executable, "x.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("epoch 1: loss ")
