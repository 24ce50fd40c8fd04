"""Bad input gets one clear line naming the file and key, exit status 2, never a traceback."""

from __future__ import annotations

import json

import pytest

import stepgrad
from stepgrad.core.errors import DivergenceError, SpecError

GOOD = {
    "layers": [2, 2, 2], "activation": "sigmoid", "loss": "half_squared_error", "learning_rate": 0.5,
    "weights": [[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]], "biases": [0.35, 0.6],
    "samples": [{"inputs": [0.05, 0.1], "targets": [0.01, 0.99]}],
}


def variant(**changes):
    spec = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        if value is None:
            spec.pop(key)
        else:
            spec[key] = value
    return spec


CASES = [
    ("wrong shape", variant(weights=[[[0.15, 0.2], [0.25, 0.3], [0.1, 0.1]], [[0.4, 0.45], [0.5, 0.55]]]), "weights[0]"),
    ("wrong row width", variant(weights=[[[0.15, 0.2, 0.1], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]]), "weights[0][0]"),
    ("unknown activation", variant(activation="sigmod"), "activation"),
    ("missing key", variant(layers=None), "layers"),
    ("non-numeric", variant(learning_rate="fast"), "learning_rate"),
    ("non-numeric weight", variant(weights=[[[0.15, "x"], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]]), "weights[0][0][1]"),
    ("softmax hidden",
     variant(layers=[2, 3, 2], activations=["softmax", "sigmoid"], activation=None, weights=None, biases=None),
     "activations[0]"),
    ("unknown key", variant(learning_rat=0.5), "learning_rat"),
    ("bad target count", variant(samples=[{"inputs": [0.05, 0.1], "targets": [0.01]}]), "samples[0].targets"),
    ("missing inputs", variant(samples=[{"targets": [0.01, 0.99]}]), "samples[0].inputs"),
    ("cross entropy on linear", variant(activations=["sigmoid", "linear"], activation=None, loss="cross_entropy"), "loss"),
    ("bad layers", variant(layers=[2, 0, 2]), "layers"),
]


@pytest.mark.parametrize("label,spec,key", CASES, ids=[c[0] for c in CASES])
def test_bad_spec_json(cli, tmp_path, label, spec, key):
    path = tmp_path / "net.json"
    path.write_text(json.dumps(spec))
    result = cli("explain", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert str(path) in lines[0] and key in lines[0], lines[0]


def test_nan_in_toml(cli, tmp_path):
    path = tmp_path / "net.toml"
    path.write_text("layers = [2, 2, 2]\nlearning_rate = nan\n")
    result = cli("explain", str(path))
    assert result.returncode == 2
    assert "learning_rate" in result.stderr and "finite" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_nan_in_json(cli, tmp_path):
    path = tmp_path / "net.json"
    path.write_text(json.dumps(GOOD).replace("0.15", "NaN"))
    result = cli("train", str(path))
    assert result.returncode == 2
    assert str(path) in result.stderr and "NaN" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("suffix,text,needle", [
    (".toml", "layers = [2, 2\n", "end of document"),
    (".json", '{"layers": [2, 2, 2],}', "line"),
    (".toml", "= 3", "line"),
])
def test_malformed_file(cli, tmp_path, suffix, text, needle):
    path = tmp_path / f"net{suffix}"
    path.write_text(text)
    result = cli("explain", str(path))
    assert result.returncode == 2
    assert str(path) in result.stderr and needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_file(cli, tmp_path):
    result = cli("explain", str(tmp_path / "nope.toml"))
    assert result.returncode == 2 and "nope.toml" in result.stderr and "no such file" in result.stderr


def test_no_samples(cli, tmp_path):
    path = tmp_path / "net.toml"
    path.write_text("layers = [2, 2, 1]\n")
    result = cli("explain", str(path))
    assert result.returncode == 2 and "samples" in result.stderr


def test_unknown_only_name(cli):
    result = cli("explain", "--only", "w55")
    assert result.returncode == 2 and "w55" in result.stderr and "--only" in result.stderr


def test_divergence_names_the_iteration(cli, tmp_path):
    spec = variant(activation="linear", learning_rate=50.0)
    path = tmp_path / "net.json"
    path.write_text(json.dumps(spec))
    result = cli("train", str(path), "--iterations", "2000")
    assert result.returncode == 2
    assert "iteration" in result.stderr and "learning_rate" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    with pytest.raises(DivergenceError, match=r"iteration \d+"):
        stepgrad.train(stepgrad.Network.from_dict(spec), 2000)


def test_api_raises_spec_error_with_where():
    with pytest.raises(SpecError) as info:
        stepgrad.Network.from_dict(variant(activation="swish"), source="mine.toml")
    assert info.value.where == "mine.toml: activation"
    assert "choose from" in info.value.message


def test_newer_format_version_is_refused():
    with pytest.raises(SpecError, match="newer"):
        stepgrad.Network.from_dict(variant(format_version=99))


@pytest.mark.parametrize("activation, targets, message", [
    ("softmax", [0.5, 0.3, 0.5], "must sum to 1"),
    ("softmax", [2.0, -1.0, 0.0], "between 0 and 1"),
    ("sigmoid", [1.5, 0.0, 0.0], "between 0 and 1"),
])
def test_cross_entropy_targets_are_probabilities(activation, targets, message):
    spec = {"layers": [2, 2, 3], "activations": ["tanh", activation], "loss": "cross_entropy",
            "samples": [{"inputs": [0.1, 0.2], "targets": targets}]}
    with pytest.raises(stepgrad.StepgradError, match=message) as info:
        stepgrad.Network.from_dict(spec, "net.toml")
    assert "net.toml" in str(info.value)
