"""`stepgrad explain` and `stepgrad names` on layer-table networks: the documents, and one-line refusals."""

from __future__ import annotations

import json

import pytest

from conv_gallery import random_spec
from stepgrad.api import Display, Extras, StepOptions, explain_document, quantity_names
from stepgrad.cli import main
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.tracing.layered import explain_layers

CNN = """
activation = "relu"
learning_rate = 0.1
layers = [
  {type = "input", shape = [1, 4, 4]},
  {type = "conv2d", out_channels = 1, kernel = 2, weights = [[[[0.1, -0.2], [0.3, 0.4]]]], biases = [0.05]},
  {type = "maxpool", kernel = 3, stride = 3},
  {type = "flatten"},
  {type = "dense", neurons = 2, activation = "sigmoid", weights = [[0.5], [-0.6]], biases = [0.1, 0.2]},
]
[[samples]]
inputs = [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8], [0.9, 1.0, 0.0, 0.1], [0.2, 0.3, 0.4, 0.5]]
targets = [0.2, 0.8]
"""


@pytest.fixture
def cnn(tmp_path):
    path = tmp_path / "cnn.toml"
    path.write_text(CNN)
    return str(path)


def test_text_derives_one_position_and_tabulates_the_rest(cnn) -> None:
    text = explain_document(cnn, display=Display(digits=4))
    assert ("net_c1[1,1,1] = k1[1,1,1,1] * x[1,1,1] + k1[1,1,1,2] * x[1,1,2] + k1[1,1,2,1] * x[1,2,1]\n"
            "                + k1[1,1,2,2] * x[1,2,2] + b_c1[1]\n"
            "              = 0.1 * 0.1 + (-0.2) * 0.2 + 0.3 * 0.5 + 0.4 * 0.6 + 0.05\n"
            "              = 0.41\n") in text
    assert "Convolution: cross-correlation" in text and "ties: first" in text
    # k1[1,1,1,1]'s plan, factors, sum and update, the others in a table
    assert "The gradient of k1[1,1,1,1]: it touches 9 positions of c1's channel 1" in text
    assert "dnet_c1[1,2,1]/dk1[1,1,1,1] = x[1,2,1] = 0.5" in text
    assert "k1[1,1,1,1]+ = k1[1,1,1,1] - eta * dE_total/dk1[1,1,1,1] = 0.1 - 0.1 * 0.05 = 0.095" in text
    assert "k1[1,1,2,2]  0.4    0.1               0.39" in text
    assert "name         value  dE_total/d(name)  new value" in text  # the table's header says whose gradient
    assert "dnet_c1[1,2,1]/dk1[1,1,2,2]" not in text
    full = explain_document(cnn, display=Display(digits=4), extras=Extras(full=True))
    assert "dnet_c1[1,2,1]/dk1[1,1,2,2] = x[1,3,2] = 1" in full
    # the max-pool's route: only the cell that was the maximum (0.65 at row 2, column 1) gets the gradient
    assert "dE_total/dout_c1[1,1,1] = 0\n    (no path reaches the error from here" in text


def test_markdown_and_json(cnn) -> None:
    md = explain_document(cnn, fmt="markdown", display=Display(digits=4))
    assert r"## Forward pass: c1 \(conv2d\)" in md and "| 1 | 0.1 | 0.2 | 0.3 | 0.4 |" in md
    data = json.loads(explain_document(cnn, fmt="json"))
    net = LayerNetwork.from_dict(__import__("tomllib").loads(CNN))
    assert data["values"] == explain_layers(net).values
    assert data["meta"]["convolution"] == "cross_correlation"


def test_names(cnn) -> None:
    listed = json.loads(quantity_names(cnn, fmt="json"))
    assert listed["dE_total/dk1[1,1,1,1]"] == pytest.approx(0.05, rel=1e-4)  # 0.5 * 0.1 (the one routed cell)
    assert "k1[1,1,2,2]+" in listed and "E_total+" in listed


@pytest.mark.parametrize(("args", "flag"), [
    (["--round", "3", "--sample", "1"], "--round"),
    (["--group", "weight"], "--group"), (["--deck"], "--deck"), (["--check-numeric"], "--check-numeric"),
    (["--update-order", "sequential"], "--update-order"), (["--only", "k1", "--format", "text"], "--only"),
])
def test_unsupported_options_are_refused_in_one_line(cnn, capsys, args, flag) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["explain", cnn, *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and f"{flag}:" in err[0], err


@pytest.mark.parametrize("seed", range(8))
def test_random_networks_render(seed: int, tmp_path) -> None:
    path = tmp_path / "net.json"
    path.write_text(json.dumps(random_spec(seed)))
    for fmt in ("text", "markdown", "json"):
        assert explain_document(str(path), fmt=fmt, display=Display(digits=5), step=StepOptions(sample=1))


def test_console_output(cnn, capsys) -> None:
    main(["explain", cnn, "--digits", "4"])
    out = capsys.readouterr().out
    assert out.startswith("The network and its conventions") and "E_total+ = " in out
    assert max(len(line) for line in out.splitlines() ) <= 100


def test_the_facade_explains_and_renders_layer_networks(cnn) -> None:
    import stepgrad

    trace = stepgrad.explain(stepgrad.load_layers(cnn))
    assert trace.meta["kind"] == "layers"
    assert "net_c1[1,1,1] = " in stepgrad.render(trace, "text", digits=4)
    assert "<table" in stepgrad.render(trace, "html")
    assert "\\begin{frame}" in stepgrad.render(trace, "slides")  # a Beamer lecture (formats/maps_slides.py)


@pytest.mark.parametrize("seed", [0, 3, 7, 12])
def test_the_matrix_view_multiplies_out_to_net(seed: int) -> None:
    from stepgrad.core import names
    from stepgrad.formats.maps import Grid, blocks

    net = LayerNetwork.from_dict(random_spec(seed))
    trace = explain_layers(net)
    grids = [b for b in blocks(trace, 17, matrix=True) if isinstance(b, Grid)]
    windows = [g for g in grids if g.title.startswith("windows of")]
    assert windows
    for grid in windows:
        label, channel = grid.title.split()[2].rstrip(","), int(grid.title.split()[4].rstrip(","))
        sample = int(grid.title.split("(sample ")[1].rstrip(")")) if "(sample " in grid.title else None
        bias = trace.values.get(names.with_position(f"b_{label}", (channel,)), 0.0)
        for position, row in zip(grid.row_labels, grid.rows):
            total = sum(float(x) * trace.values[k] for x, k in zip(row, grid.column_labels)) + bias
            where = tuple(int(p) for p in position.strip("()").split(","))
            assert total == pytest.approx(trace.values[names.map_value("net", label, (channel, *where), sample)],
                                          rel=1e-12, abs=1e-12)
