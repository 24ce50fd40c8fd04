"""`stepgrad export --keys`: the exported state_dict named after the user's own model's state_dict, loadable into
that model as it is; a layer that does not fit is one line (exit 2 on the command line)."""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad
from stepgrad.api import export_torch
from stepgrad.core.errors import StepgradError

torch = pytest.importorskip("torch")
nn = torch.nn


class Mine(nn.Module):
    def __init__(self, hidden: int = 2, bias: bool = True):
        super().__init__()
        self.encoder = nn.Linear(2, hidden)
        self.head = nn.Linear(hidden, 2, bias=bias)

    def forward(self, x):
        return torch.sigmoid(self.head(torch.sigmoid(self.encoder(x))))


def _keys_file(tmp_path, model) -> str:
    path = tmp_path / "mine.pt"
    torch.save(model.state_dict(), path)
    return str(path)


def test_the_state_dict_takes_the_models_own_names_and_loads_as_it_is(tmp_path):
    model = Mine()
    out = tmp_path / "weights.pt"
    export_torch(None, output=str(out), keys=_keys_file(tmp_path, model))
    state = torch.load(out, weights_only=True)
    assert list(state) == ["encoder.weight", "encoder.bias", "head.weight", "head.bias"]
    model.load_state_dict(state)  # strict: every key and shape fits
    net = stepgrad.builtin()
    np.testing.assert_array_equal(model.encoder.weight.detach().numpy(), net.weights[0].astype(np.float32))
    np.testing.assert_array_equal(model.head.bias.detach().numpy(), np.float32([0.6, 0.6]))  # the shared b2, per neuron
    x = torch.tensor([[0.05, 0.10]])
    assert float(model(x).detach()[0, 0]) == pytest.approx(stepgrad.explain(net).values["out_o1"], rel=1e-6)


@pytest.mark.parametrize("model, message", [
    (Mine(hidden=3), "encoder.weight has shape (3, 2) but layers 2-2-2 (from the network) need (2, 2)"),
    (Mine(bias=False), "head has no bias (bias=False) but the network's biases of layer 2 are not 0"),
    (nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Linear(2, 2)), "stepgrad reads nn.Linear layers"),
])
def test_a_model_that_does_not_fit_is_one_line(tmp_path, model, message):
    with pytest.raises(StepgradError) as err:
        export_torch(None, output=str(tmp_path / "w.pt"), keys=_keys_file(tmp_path, model))
    assert message in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "w.pt").exists()


def test_keys_without_a_weights_file_is_one_line(tmp_path):
    with pytest.raises(StepgradError, match="give -o FILE.pt too"):
        export_torch(None, code=str(tmp_path / "t.py"), keys=_keys_file(tmp_path, Mine()))


@pytest.mark.slow  # a process: make test (CI)
def test_the_command_names_the_keys_and_refuses_a_mismatch_with_exit_2(tmp_path, cli):
    ok = cli("export", "-o", str(tmp_path / "w.pt"), "--keys", _keys_file(tmp_path, Mine()))
    assert ok.returncode == 0, ok.stderr
    assert list(torch.load(tmp_path / "w.pt", weights_only=True)) == ["encoder.weight", "encoder.bias",
                                                                       "head.weight", "head.bias"]
    bad = cli("export", "-o", str(tmp_path / "w2.pt"), "--keys", _keys_file(tmp_path, Mine(hidden=5)))
    assert bad.returncode == 2 and "encoder.weight has shape (5, 2)" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "w2.pt").exists()
