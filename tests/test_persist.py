"""Saving and resuming: exact round trips, atomic writes, versioned schema, resumed = uninterrupted."""

from __future__ import annotations

import json
import os
import struct
import tomllib
from pathlib import Path

import numpy as np
import pytest

import stepgrad
from conftest import slow_after
from stepgrad.core import persist
from stepgrad.core.errors import SpecError, StepgradError
from test_engine_fd import random_network

NASTY = [0.1, 1 / 3, -2 / 3, 5e-324, 2.2250738585072014e-308, 1e-310, -0.0, 1.7976931348623157e308,
         123456789.12345679, 1e16, 1e-7, np.nextafter(1.0, 2.0), np.pi]


def bits(arrays) -> list[bytes]:
    return [np.ascontiguousarray(a, dtype=np.float64).tobytes() for a in arrays]


def same_parameters(a: stepgrad.Network, b: stepgrad.Network) -> None:
    """Every weight and bias equal bit for bit."""
    assert bits(a.weights) == bits(b.weights) and bits(a.biases) == bits(b.biases)


def same_network(a: stepgrad.Network, b: stepgrad.Network) -> None:
    """Equal specs, and every float bit for bit (so -0.0 and subnormals count)."""
    assert a.layers == b.layers and a.activations == b.activations and a.loss == b.loss
    assert struct.pack("d", a.learning_rate) == struct.pack("d", b.learning_rate)
    assert (a.update_biases, a.update_order, a.shared_biases, a.name) == (b.update_biases, b.update_order,
                                                                           b.shared_biases, b.name)
    assert bits(a.weights) == bits(b.weights) and bits(a.biases) == bits(b.biases)
    assert bits([a.inputs, a.targets]) == bits([b.inputs, b.targets])


@pytest.mark.parametrize("ext", ["toml", "json"])
def test_spec_save_load_is_identical(tmp_path, ext):
    nets = [stepgrad.builtin()] + [random_network(seed) for seed in range(30)]
    for k, net in enumerate(nets):
        path = tmp_path / f"net{k}.{ext}"
        persist.save(net, path)
        back = stepgrad.load(path)
        same_network(net, back)
        assert back.extra["format_version"] == stepgrad.core.spec.FORMAT_VERSION


@pytest.mark.parametrize("ext", ["toml", "json"])
def test_every_float64_round_trips_exactly(tmp_path, ext):
    rng = np.random.default_rng(7)
    randoms = rng.integers(0, 2**63, size=40, dtype=np.int64).view(np.float64)  # arbitrary bit patterns
    values = [float(v) for v in NASTY + list(randoms[np.isfinite(randoms)])]
    net = stepgrad.Network.from_dict({"layers": [len(values), 1], "weights": [[values]], "biases": [[values[0]]],
                                      "learning_rate": float(np.nextafter(0.5, 1.0))})
    path = tmp_path / f"floats.{ext}"
    persist.save(net, path)
    back = stepgrad.load(path)
    same_network(net, back)
    assert np.signbit(back.weights[0][0][NASTY.index(-0.0)])
    text = path.read_text()
    parsed = json.loads(text) if ext == "json" else tomllib.loads(text)  # the file itself is standard
    assert parsed["weights"][0][0][:3] == [0.1, 1 / 3, -2 / 3]


def test_saved_file_has_the_versioned_schema(tmp_path):
    history = stepgrad.train(stepgrad.builtin(), 7, update_order="sequential", every=2)
    persist.save(history.network, tmp_path / "t.toml", history=history)
    data = tomllib.loads((tmp_path / "t.toml").read_text())
    assert data["format_version"] == 1
    assert data["training"] == {"iterations": 7, "update_order": "sequential"}
    assert data["update_order"] == "sequential"  # a resumed run continues in the order training used
    assert data["history"]["iteration"] == [0, 2, 4, 6, 7]
    # The history is the error before each recorded iteration: recompute it with the engine.
    net = stepgrad.builtin()
    errors = []
    for _ in range(8):
        rec = stepgrad.core.engine.step(net, net.inputs, net.targets, "sequential")
        errors.append(rec.forward.error)
        stepgrad.core.engine.apply(net, rec)
    assert data["history"]["E_total"] == [errors[i] for i in (0, 2, 4, 6, 7)]


def test_newer_format_version_fails_clearly(tmp_path, cli):
    path = tmp_path / "future.toml"
    persist.save(stepgrad.builtin(), path)
    path.write_text(path.read_text().replace("format_version = 1", "format_version = 2"))
    with pytest.raises(SpecError) as err:
        stepgrad.load(path)
    assert "format_version 2, newer than this stepgrad reads (1); upgrade stepgrad" in str(err.value)
    result = cli("train", str(path), "-n", "1")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"stepgrad: error: {path}: format_version: this file has format_version 2, "
                                     "newer than this stepgrad reads (1); upgrade stepgrad")


@pytest.mark.parametrize("key, value, message", [
    ("format_version", "1", "format_version: expected a whole number >= 1"),
    ("format_version", 0, "format_version: expected a whole number >= 1"),
    ("training", 5, "training: expected a table"),
    ("training", {"iterations": -1}, "training.iterations: expected a whole number >= 0"),
    ("training", {"iterations": 1.5}, "training.iterations: expected a whole number >= 0"),
    ("training", {"epochs": "3"}, "training.epochs: expected a whole number >= 0"),
    ("training", {"update_order": "random"}, "training.update_order: expected synchronous or sequential"),
    ("history", {"iteration": [0, 1], "E_total": [0.3]}, "history: 'iteration' has 2 entries but 'E_total' has 1"),
    ("history", {"iteration": [0], "E_total": ["x"]}, "history.E_total: expected a list of finite numbers"),
    ("history", [1, 2], "history: expected a table with the lists 'iteration' and 'E_total'"),
])
def test_bad_saved_state_is_one_clear_error(key, value, message):
    data = stepgrad.builtin().to_dict()
    data[key] = value
    with pytest.raises(SpecError) as err:
        stepgrad.Network.from_dict(data, "saved.json")
    assert str(err.value).startswith("saved.json: ") and message in str(err.value)


def test_crash_during_save_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "trained.toml"
    persist.save(stepgrad.builtin(), path)
    before = path.read_bytes()
    trained = stepgrad.train(stepgrad.builtin(), 5)

    real_fdopen = os.fdopen

    class HalfWriter:
        """A file that writes half of the text, then the machine 'crashes'."""

        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, text):
            self.f.write(text[: len(text) // 2])
            self.f.flush()
            raise OSError("disk on fire")

    monkeypatch.setattr(persist.os, "fdopen", lambda *a, **k: HalfWriter(real_fdopen(*a, **k)))
    from stepgrad.core.errors import StepgradError

    with pytest.raises(StepgradError, match="trained.toml: cannot write: disk on fire"):  # one line, the file named
        persist.save(trained.network, path, history=trained)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trained.toml"]  # no temporary file left

    monkeypatch.undo()
    monkeypatch.setattr(persist.os, "replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        persist.save(trained.network, path, history=trained)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trained.toml"]


def test_save_into_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(StepgradError, match="folder does not exist"):
        persist.save(stepgrad.builtin(), tmp_path / "nope" / "a.toml")


def _resumed(net, first, second, path, **kw):
    h = stepgrad.train(net, first, **kw)
    persist.save(h.network, path, history=h)
    h2 = stepgrad.train(stepgrad.load(path), second, **kw)
    persist.save(h2.network, path, history=h2)
    return h2, stepgrad.load(path)


@pytest.mark.parametrize("kw", [{}, {"update_order": "sequential"}, {"optimizer": "momentum"},
                                {"optimizer": "adam"}], ids=["sgd", "sequential", "momentum", "adam"])
@pytest.mark.parametrize("first, second", slow_after(1, [(40, 60), (300, 250)]))
def test_resumed_training_equals_uninterrupted(tmp_path, kw, first, second):
    for seed in range(12):
        net = random_network(seed)
        net.learning_rate = min(net.learning_rate, 0.1)
        try:
            whole = stepgrad.train(net, first + second, every=1, **kw)
        except stepgrad.DivergenceError:
            continue
        path = tmp_path / f"r{seed}.{('toml', 'json')[seed % 2]}"
        resumed, saved = _resumed(net, first, second, path, every=1, **kw)
        same_parameters(whole.network, resumed.network)
        same_parameters(whole.network, saved)
        assert saved.update_order == kw.get("update_order", net.update_order)
        assert saved.training.to_dict() == json.loads(json.dumps(whole.network.training.to_dict()))
        assert saved.extra["history"] == {"iteration": whole.recorded, "E_total": whole.errors}


def test_resumed_training_across_the_fast_path_threshold(tmp_path):
    for seed in range(12):
        net = random_network(seed)
        net.learning_rate = min(net.learning_rate, 0.1)
        whole = stepgrad.train(net, 250)
        resumed, _ = _resumed(net, 150, 100, tmp_path / f"r{seed}.toml")
        same_parameters(whole.network, resumed.network)


@pytest.mark.slow  # four CLI trainings; the resume itself is checked in process above
def test_cli_save_then_resume_equals_one_run(tmp_path, cli):
    one, first, resumed = (str(tmp_path / n) for n in ("one.toml", "first.toml", "resumed.json"))
    sequential = ["--update-order", "sequential"]
    for args in (["-n", "1500", *sequential, "--save", one], ["-n", "700", *sequential, "--save", first],
                 [first, "-n", "800", "--save", resumed]):  # the saved file remembers the order
        result = cli("train", "--format", "json", *args)
        assert result.returncode == 0, result.stderr
    whole, saved = stepgrad.load(one), stepgrad.load(resumed)
    same_network(whole, saved)
    assert saved.training == stepgrad.core.spec.TrainingState(iterations=1500, update_order="sequential")
    assert saved.extra["history"]["iteration"][-1] == 1500
    assert saved.extra["history"]["E_total"][-1] == whole.extra["history"]["E_total"][-1]
    # The resumed run's JSON report starts where the first run stopped.
    report = json.loads(cli("train", resumed, "-n", "0", "--format", "json").stdout)
    assert report["start"] == 1500 and report["values"]["w1"] == whole.weights[0][0][0]


def test_every_command_reads_a_saved_file(tmp_path, cli):
    path = str(tmp_path / "t.toml")
    assert cli("train", "-n", "3", "--save", path, "--format", "json").returncode == 0
    result = cli("explain", path, "--format", "json")
    assert result.returncode == 0, result.stderr
    expected = stepgrad.explain(stepgrad.train(stepgrad.builtin(), 3).network).values["E_total"]
    assert json.loads(result.stdout)["values"]["E_total"] == expected


def test_resumed_minibatch_training_equals_uninterrupted(tmp_path):
    from stepgrad.training.data import bundled
    from stepgrad.training.loop import default_network, fit

    data = bundled("xor")
    net = default_network(data, seed=0, hidden=4, optimizer="adam")
    whole = fit(net, data, epochs=10, batch_size=2, optimizer="adam", seed=0)
    first = fit(net, data, epochs=5, batch_size=2, optimizer="adam", seed=0)
    persist.save(first.network, tmp_path / "f.toml", history=first)
    resumed = fit(stepgrad.load(tmp_path / "f.toml"), data, epochs=5, batch_size=2, optimizer="adam", seed=0)
    same_parameters(whole.network, resumed.network)


@pytest.mark.slow
def test_cli_minibatch_resume_equals_one_run(tmp_path, cli):
    whole, first, resumed = (str(tmp_path / n) for n in ("whole.json", "first.json", "resumed.json"))
    common = ["--data", "xor", "--batch-size", "2", "--optimizer", "adam", "--format", "json", "-o", os.devnull]
    for args in (["--epochs", "10", "--save", whole], ["--epochs", "4", "--save", first],
                 [first, "--epochs", "6", "--save", resumed]):
        result = cli("train", *args, *common)
        assert result.returncode == 0, result.stderr
    a, b = json.loads(Path(whole).read_text()), json.loads(Path(resumed).read_text())
    assert (a["weights"], a["biases"], a["training"], a["history"]) == (b["weights"], b["biases"], b["training"], b["history"])
    assert a["training"]["optimizer"]["name"] == "adam" and a["training"]["optimizer"]["t"] == 20
