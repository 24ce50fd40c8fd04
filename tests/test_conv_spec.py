"""The layer-table spec: what it reads, the one-line errors naming file and key, and the dense path's refusal."""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad
from stepgrad.cli import main
from stepgrad.core.errors import SpecError
from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork, loads

INPUT = {"type": "input", "shape": [1, 4, 4]}


def build(*layers, **keys):
    return LayerNetwork.from_dict({"layers": [INPUT, *layers], **keys}, "net.toml")


def test_d2l_cross_correlation_example() -> None:
    # Dive into Deep Learning, section 7.2.1 "The Cross-Correlation Operation" (d2l.ai/chapter_convolutional-
    # neural-networks/conv-layer.html): X = [[0,1,2],[3,4,5],[6,7,8]], K = [[0,1],[2,3]] gives [[19,25],[37,43]].
    net = loads("""
        activation = "linear"
        layers = [ {type = "input", shape = [1, 3, 3]},
                   {type = "conv2d", out_channels = 1, kernel = 2, bias = false, weights = [[[[0, 1], [2, 3]]]]} ]
        [[samples]]
        inputs = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
        targets = [0, 0, 0, 0]
    """)
    assert engine.forward(net, net.inputs).output.reshape(2, 2).tolist() == [[19, 25], [37, 43]]


def test_true_convolution_flips_the_kernel() -> None:
    # With the kernel turned 180 degrees ([[3,2],[1,0]]) the top-left output is 0*3 + 1*2 + 3*1 + 4*0 = 5.
    net = loads("""
        activation = "linear"
        convolution = "convolution"
        layers = [ {type = "input", shape = [1, 3, 3]},
                   {type = "conv2d", out_channels = 1, kernel = 2, bias = false, weights = [[[[0, 1], [2, 3]]]]} ]
    """)
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    assert engine.forward(net, x).output.reshape(2, 2).tolist() == [[5, 11], [23, 29]]


def test_integers_stand_for_dense_layers() -> None:
    net = LayerNetwork.from_dict({"layers": [3, {"type": "dense", "neurons": 2, "activation": "tanh"}, 4]})
    assert [layer.label for layer in net.layers] == ["d1", "d2"]
    assert [layer.activation for layer in net.layers] == ["tanh", "sigmoid"]


def test_residual_block_and_labels() -> None:
    net = build({"type": "conv2d", "out_channels": 2, "kernel": 3, "padding": 1},
                {"type": "residual", "layers": [{"type": "conv2d", "out_channels": 2, "kernel": 3, "padding": 1}]},
                {"type": "maxpool", "kernel": 2}, {"type": "flatten"}, {"type": "dense", "neurons": 2})
    assert [layer.label for layer in net.all_layers()] == ["c1", "c2", "r1", "p1", "f1", "d1"]
    assert net.layers[-2].out_shape == (8,)


@pytest.mark.parametrize(("layers", "keys", "where", "message"), [
    ([{"type": "conv3d"}], {}, "net.toml: layers[1].type", "unknown layer type 'conv3d'"),
    ([{"type": "conv2d", "out_channels": 1}], {}, "net.toml: layers[1].kernel", "missing key 'kernel'"),
    ([{"type": "conv2d", "out_channels": 1, "kernel": 5}], {}, "net.toml: layers[1].kernel", "does not fit"),
    ([{"type": "conv2d", "out_channels": 1, "kernel": 2, "strid": 1}], {}, "net.toml: layers[1].strid",
     "did you mean 'stride'"),
    ([{"type": "conv2d", "out_channels": 1, "kernel": 2, "in_channels": 3}], {}, "net.toml: layers[1].in_channels",
     "the input has 1 channels"),
    ([{"type": "conv2d", "out_channels": 1, "kernel": 2, "weights": [[[[1, 2], [3]]]]}], {},
     "net.toml: layers[1].weights[0][0][1]", "expected 2 entries"),
    ([{"type": "conv2d", "out_channels": 1, "kernel": 2, "weights": [[[[1, 2], [3, True]]]]}], {},
     "net.toml: layers[1].weights[0][0][1][1]", "expected a number"),
    ([{"type": "dense", "neurons": 2}], {}, "net.toml: layers[1]", 'put {type = "flatten"} before it'),
    ([{"type": "maxpool", "kernel": 2, "ties": "last"}], {}, "net.toml: layers[1].ties", "first, split"),
    ([{"type": "residual", "layers": [{"type": "conv2d", "out_channels": 2, "kernel": 1}]}], {},
     "net.toml: layers[1].layers", "must have the shape of its input"),
    ([{"type": "flatten"}, {"type": "dense", "neurons": 2, "activation": "softmax"}, 2], {},
     "net.toml: layers (d1)", "softmax is allowed only in the last layer"),
    ([{"type": "flatten"}], {"convolution": "flipped"}, "net.toml: convolution", "cross_correlation, convolution"),
    ([{"type": "flatten"}], {"activations": ["relu"]}, "net.toml: activations", "unknown key"),
])
def test_errors_name_file_and_key(layers, keys, where, message) -> None:
    with pytest.raises(SpecError) as caught:
        build(*layers, **keys)
    assert caught.value.where == where
    assert message in caught.value.message
    assert "\n" not in str(caught.value)


def test_samples_in_the_input_shape_or_flat() -> None:
    net = build({"type": "flatten"}, samples=[
        {"inputs": np.arange(16.0).reshape(4, 4).tolist(), "targets": list(range(16))},
        {"inputs": list(range(16)), "targets": np.arange(16.0).reshape(1, 4, 4).tolist()}])
    assert net.inputs.shape == (2, 1, 4, 4)
    assert (net.inputs[0] == net.inputs[1]).all() and (net.targets[0] == net.targets[1]).all()


def test_the_dense_path_refuses_layer_tables_in_one_line(tmp_path, capsys) -> None:
    spec = tmp_path / "cnn.toml"
    spec.write_text('layers = [{type = "input", shape = [1, 3, 3]}, {type = "maxpool", kernel = 2}]\n')
    with pytest.raises(SpecError, match="layer tables .maxpool. are not supported here yet"):
        stepgrad.load(spec)
    for command in (["quiz", str(spec)],
                    ["export", str(spec), "-o", str(tmp_path / "m.py")]):
        with pytest.raises(SystemExit) as exit_:
            main(command)
        captured = capsys.readouterr()
        assert exit_.value.code == 2, (command, captured)
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and "layer tables (maxpool) are not supported" in lines[0], (command, captured)
