"""Files written for people: a saved network (train --save) and the exercise's network.toml put a
weight-matrix row on each line, in TOML and JSON, and still read back bit for bit."""

from __future__ import annotations

import json
import re
import tomllib

import numpy as np
import pytest

import stepgrad
from gallery import network
from stepgrad.core.persist import dumps


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_a_weight_row_per_line(fmt, tmp_path):
    net = network("8-6-4")
    history = stepgrad.train(net, 20, every=1)
    text = dumps(history.network, fmt, history)
    rows = [line for line in text.splitlines() if re.fullmatch(r"\s*\[-?\d[^\[\]]*\],?", line)]
    expected = [list(map(float, row)) for layer in history.network.weights for row in layer]
    parsed = [json.loads(line.strip().rstrip(",")) for line in rows]
    assert all(r in parsed for r in expected)  # every row of every weight matrix is one line
    assert max(len(line) for line in text.splitlines() if "E_total" not in line) < 240
    data = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    path = tmp_path / f"net.{fmt}"
    path.write_text(text)
    again = stepgrad.load(str(path))
    for a, b in zip(again.weights, history.network.weights):
        assert np.array_equal(a, b)  # bit for bit
    assert data["history"]["E_total"] == [float(e) for e in history.errors]


def test_the_deck_saved_is_short():
    text = dumps(stepgrad.builtin(), "toml")
    assert "[0.15, 0.2]" in text and "[0.4, 0.45]" in text
    assert len(text.splitlines()) < 30
