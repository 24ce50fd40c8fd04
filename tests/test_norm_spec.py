"""The layernorm and batchnorm tables: what they read, their one-line errors, and small cases worked by hand."""

from __future__ import annotations

import math

import pytest

from stepgrad.cli import main
from stepgrad.core.errors import SpecError
from stepgrad.core.layers import engine
from stepgrad.core.layers.norm import BatchNorm, LayerNorm
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import named_values

SAMPLES = [{"inputs": [1.0, 2.0, 3.0], "targets": [0.0, 0.0, 0.0]},
           {"inputs": [3.0, 0.0, 1.0], "targets": [0.0, 0.0, 0.0]}]


def build(table: dict, samples: list | None = None, **keys) -> LayerNetwork:
    return LayerNetwork.from_dict({"layers": [{"type": "input", "shape": [3]}, table], "activation": "linear",
                                   "samples": samples or SAMPLES, **keys}, "net.toml")


def test_layernorm_of_1_2_3_by_hand() -> None:
    # mean 2, biased variance ((1-2)^2 + 0 + (3-2)^2) / 3 = 2/3; xhat = (x - 2) / sqrt(2/3) = -sqrt(3/2), 0, sqrt(3/2)
    net = build({"type": "layernorm", "eps": 0.0, "gamma": [2.0, 1.0, 1.0], "beta": [0.5, 0.0, 0.0]})
    rec = engine.step(net, net.inputs, net.targets)
    values = named_values(net, rec)
    assert values["mu_n1[1][1]"] == 2.0
    assert values["var_n1[1][1]"] == pytest.approx(2 / 3, rel=1e-15)
    assert values["xhat_n1[3][1]"] == pytest.approx(math.sqrt(1.5), rel=1e-15)
    assert values["out_n1[1][1]"] == pytest.approx(2 * -math.sqrt(1.5) + 0.5, rel=1e-15)


def test_batchnorm_statistics_are_per_feature_over_the_batch_by_hand() -> None:
    # feature 1 over the two samples: 1 and 3, mean 2, biased variance 1 (xhat -1 and 1); unbiased 2
    net = build({"type": "batchnorm", "eps": 0.0, "momentum": 0.5})
    values = named_values(net, engine.step(net, net.inputs, net.targets))
    assert (values["mu_n1[1]"], values["var_n1[1]"]) == (2.0, 1.0)
    assert (values["xhat_n1[1][1]"], values["xhat_n1[1][2]"]) == (-1.0, 1.0)
    # running_mean+ = 0.5 * 0 + 0.5 * 2; running_var+ = 0.5 * 1 + 0.5 * 2 (the unbiased variance, as PyTorch)
    assert (values["running_mean_n1[1]+"], values["running_var_n1[1]+"]) == (1.0, 1.5)
    unbiased = build({"type": "batchnorm", "eps": 0.0, "variance": "unbiased"})
    assert named_values(unbiased, engine.step(unbiased, unbiased.inputs, unbiased.targets))["var_n1[1]"] == 2.0


def test_evaluation_mode_uses_the_running_statistics() -> None:
    net = build({"type": "batchnorm", "mode": "evaluation", "eps": 0.0, "running_mean": [1, 1, 1],
                 "running_var": [4, 4, 4]})
    out = engine.forward(net, net.inputs).output
    assert out[0].tolist() == [0.0, 0.5, 1.0]  # (x - 1) / 2
    values = named_values(net, engine.step(net, net.inputs, net.targets))
    assert "mu_n1[1]" not in values and "running_mean_n1[1]+" not in values


def test_the_layers_describe_their_conventions() -> None:
    layer = build({"type": "batchnorm"}).layers[0]
    assert isinstance(layer, BatchNorm)
    assert "biased variance" in layer.describe() and "momentum 0.1" in layer.describe()
    assert isinstance(build({"type": "layernorm", "affine": False}).layers[0], LayerNorm)
    assert "no gamma or beta" in build({"type": "layernorm", "affine": False}).layers[0].describe()


@pytest.mark.parametrize("table,samples,where,message", [
    ({"type": "batchnorm", "mode": "train"}, None, "layers[1].mode", "expected one of training, evaluation"),
    ({"type": "layernorm", "variance": "sample"}, None, "layers[1].variance", "expected one of biased, unbiased"),
    ({"type": "layernorm", "gamma": [1, 2]}, None, "layers[1].gamma", "expected 3 entries"),
    ({"type": "layernorm", "affine": False, "beta": [0, 0, 0]}, None, "layers[1].beta", "affine = false"),
    ({"type": "batchnorm", "momentum": 2}, None, "layers[1].momentum", "from 0 to 1"),
    ({"type": "batchnorm", "running_var": [-1, 1, 1]}, None, "layers[1].running_var", "positive"),
    ({"type": "layernorm", "epsilon": 1e-5}, None, "layers[1].epsilon", "unknown key 'epsilon' for layernorm"),
    ({"type": "batchnorm"}, SAMPLES[:1], "samples", "needs 2 samples or more"),
])
def test_errors_name_the_key(table: dict, samples: list | None, where: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        build(table, samples)
    assert message in str(caught.value) and where in str(caught.value)


def test_batchnorm_refuses_a_2d_map() -> None:
    with pytest.raises(SpecError, match="batchnorm is batchnorm1d"):
        LayerNetwork.from_dict({"layers": [{"type": "input", "shape": [1, 2, 2]}, {"type": "batchnorm"}]})


def test_commands_for_dense_networks_refuse_normalization_in_one_line(tmp_path, capsys) -> None:
    spec = tmp_path / "bn.toml"
    spec.write_text('layers = [{type = "input", shape = [2]}, {type = "batchnorm"}]\n')
    with pytest.raises(SystemExit) as stopped:
        main(["quiz", str(spec)])  # graph draws it (maps_seq_graph)
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "batchnorm" in err
