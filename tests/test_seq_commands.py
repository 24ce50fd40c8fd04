"""The commands on networks with normalization, recurrent or attention layers: explain and names show them
(truncated BPTT, whose gradients are not derivatives, is refused in one line); train runs them on the engine."""

from __future__ import annotations

import json

import pytest

from stepgrad.cli import main

SPECS = {
    "batchnorm n1": {"layers": [{"type": "input", "shape": [2]}, {"type": "batchnorm"},
                                {"type": "dense", "neurons": 1, "activation": "sigmoid"}],
                     "samples": [{"inputs": [1, 0.5], "targets": [0.8]}, {"inputs": [-0.5, 0.2], "targets": [0.1]}]},
    "rnn h1": {"layers": [{"type": "sequence", "steps": 2, "features": 1}, {"type": "rnn", "hidden": 2},
                          {"type": "dense", "neurons": 1, "activation": "sigmoid"}],
               "samples": [{"inputs": [[1], [0.5]], "targets": [0.8]}]},
    "attention a1": {"layers": [{"type": "sequence", "steps": 2, "features": 2},
                                {"type": "attention", "output": "last"},
                                {"type": "dense", "neurons": 1, "activation": "sigmoid"}],
                     "samples": [{"inputs": [[1, 0], [0.5, 0.2]], "targets": [0.8]}]},
    "dense d1 on a sequence": {"layers": [{"type": "sequence", "steps": 2, "features": 1},
                                          {"type": "dense", "neurons": 1, "activation": "sigmoid"}],
                               "step_reduction": "sum",
                               "samples": [{"inputs": [[1], [0.5]], "targets": [0.8, 0.2]}]},
}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as stopped:
        code = int(stopped.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("what", SPECS)
@pytest.mark.parametrize("command", [["explain"], ["names"], ["explain", "--format", "json"]])
def test_commands_explain_them(what: str, command: list[str], tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "net.json"
    spec.write_text(json.dumps(SPECS[what]))
    code, out, err = run([*command, str(spec)], capsys)
    assert code == 0, err
    label = what.split()[1]
    assert f"_{label}[" in out or f"{label}_t1[" in out  # the layer's own quantities are named


@pytest.mark.parametrize("command", [["explain"], ["names"], ["explain", "--format", "json"]])
def test_truncated_bptt_is_explained_with_its_sums_named_as_sums(command: list[str], tmp_path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "net.json"
    table = json.loads(json.dumps(SPECS["rnn h1"]))
    table["layers"][1]["truncate"] = 1
    spec.write_text(json.dumps(table))
    code, out, err = run([*command, str(spec)], capsys)
    assert code == 0, err
    assert "bptt1_Wh1[1,1]" in out and "dE_total/dWh1" not in out


@pytest.mark.parametrize("what", SPECS)
def test_train_runs_them_on_the_engine(what: str, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "net.json"
    spec.write_text(json.dumps(SPECS[what]))
    code, out, err = run(["train", str(spec), "--iterations", "20", "--format", "json"], capsys)
    assert code == 0, err
    errors = json.loads(out)["E_total"]
    assert len(errors) == 20 and errors[-1] < errors[0]  # gradient descent on these samples lowers the error


def test_the_bundled_sequence_task_is_the_sign_of_each_sum() -> None:
    from stepgrad.training.data import bundled

    data = bundled("sequence_sums")
    assert data.inputs.shape == (600, 6) and data.targets.shape == (600, 2)
    assert ((data.inputs.sum(axis=1) > 0) == (data.targets[:, 1] == 1)).all()
    assert 0.4 < data.targets[:, 1].mean() < 0.6  # both classes, about equally


SUMS = {"name": "sign of a sum", "loss": "cross_entropy", "learning_rate": 0.1, "seed": 1,
        "layers": [{"type": "sequence", "steps": 6, "features": 1},
                   {"type": "rnn", "hidden": 4, "activation": "tanh", "output": "last"},
                   {"type": "dense", "neurons": 2, "activation": "softmax"}]}


def test_an_rnn_learns_the_bundled_sequence_task(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "sums.json"
    spec.write_text(json.dumps(SUMS))
    code, out, err = run(["train", str(spec), "--data", "sequence_sums", "--epochs", "10", "--batch-size", "16",
                          "--format", "json"], capsys)
    assert code == 0, err
    accuracies = json.loads(out)["test_accuracy"]
    assert len(accuracies) == 10 and accuracies[-1] >= 0.95 > 0.8 > accuracies[0]


def test_commands_for_dense_networks_name_the_layers_not_the_sequence_input(tmp_path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "net.json"
    spec.write_text(json.dumps(SPECS["rnn h1"]))
    code, out, err = run(["quiz", str(spec)], capsys)  # graph draws it (maps_seq_graph)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "layer tables (dense, rnn)" in err
