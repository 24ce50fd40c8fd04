"""`explain` of a network trained with Adam explains Adam's next step from the saved state (not plain SGD)."""

from __future__ import annotations

import math
import subprocess
import sys

import stepgrad
from stepgrad.api import explain_document


def test_a_saved_adam_network_is_explained_with_adam_and_its_state(tmp_path):
    path = tmp_path / "adam.toml"
    subprocess.run([sys.executable, "-m", "stepgrad", "train", "--iterations", "3", "--optimizer", "adam",
                    "--save", str(path)], check=True, capture_output=True)
    net = stepgrad.load(str(path))
    state = net.training.optimizer
    assert state["name"] == "adam" and state["t"] == 3
    values = __import__("json").loads(explain_document(str(path), fmt="json"))["values"]
    # Adam's step by hand from the saved moments: w5 is weight (0, 0) of layer 2
    h = state["hyper"]
    m, s, t = state["slots"]["m"][1][0][0], state["slots"]["s"][1][0][0], state["t"] + 1
    g = values["dE_total/dw5"]
    m1, s1 = h["beta1"] * m + (1 - h["beta1"]) * g, h["beta2"] * s + (1 - h["beta2"]) * g * g
    m_hat, s_hat = m1 / (1 - h["beta1"] ** t), s1 / (1 - h["beta2"] ** t)
    w5 = net.weights[1][0][0]
    expected = w5 - net.learning_rate * m_hat / (math.sqrt(s_hat) + h["epsilon"])
    assert math.isclose(values["w5+"], expected, rel_tol=1e-12)
    assert not math.isclose(values["w5+"], w5 - net.learning_rate * g, rel_tol=1e-6)  # not plain SGD
