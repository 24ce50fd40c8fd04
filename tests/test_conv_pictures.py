"""`stepgrad graph` and `stepgrad diagram` of layer-table networks: map-level pictures whose numbers are the step's.

The values drawn in the grids are read back out of the DOT and compared with PyTorch computing the same
network on its own (torch.nn.functional: conv2d with stride 2 and padding 1, tanh, the residual sum,
avg_pool2d, linear, sigmoid; gradients by autograd), never with stepgrad's own output.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from conftest import require_tool
from conv_gallery import STRIDED, random_spec
from stepgrad.api import Display, network_diagram, step_graph
from stepgrad.core.errors import StepgradError

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _write(tmp_path, spec: dict, name: str = "net") -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(spec))
    return str(path)


def _grid(dot: str, node: str, title: str) -> np.ndarray:
    """The numbers of the grid titled `title` in node `node` of the DOT, channel after channel, row by row."""
    line = next(row for row in dot.splitlines() if row.strip().startswith(f'"{node}" ['))
    after = line.split(f">{title}</FONT>", 1)[1]
    block = after.split("</TABLE></TD></TR></TABLE></TD></TR>", 1)[0]
    cells = re.findall(r"<TD>([^<]*)</TD>", block)
    return np.array([float(c) for c in cells])


def _after(dot: str, node: str, title: str) -> np.ndarray:
    """Every number drawn in node `node` after the line `title` (a kernel's grids, slice after slice)."""
    line = next(row for row in dot.splitlines() if row.strip().startswith(f'"{node}" ['))
    return np.array([float(c) for c in re.findall(r"<TD>([^<]*)</TD>", line.split(f">{title}<", 1)[1])])


def _torch_step():
    """The STRIDED network's forward pass and gradients, by PyTorch alone."""
    layers = STRIDED["layers"]
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    x = t(STRIDED["samples"][0]["inputs"]).unsqueeze(0)
    k1, b1 = t(layers[1]["weights"]).requires_grad_(), t(layers[1]["biases"]).requires_grad_()
    k2, b2 = t(layers[2]["layers"][0]["weights"]).requires_grad_(), t(layers[2]["layers"][0]["biases"])
    w, b = t(layers[5]["weights"]), t(layers[5]["biases"])
    out_c1 = torch.tanh(F.conv2d(x, k1, b1, stride=2, padding=1))
    out_c1.retain_grad()
    out_r1 = out_c1 + torch.tanh(F.conv2d(out_c1, k2, b2))
    out_p1 = F.avg_pool2d(out_r1, 2, stride=1)
    out = torch.sigmoid(F.linear(out_p1.flatten(1), w, b))
    error = 0.5 * ((t(STRIDED["samples"][0]["targets"]) - out) ** 2).sum()
    error.backward()
    return out_c1.detach().numpy().ravel(), out_p1.detach().numpy().ravel(), k1.grad.numpy().ravel(), float(error.detach())


def test_the_step_graph_draws_the_maps_pytorch_computes(tmp_path) -> None:
    dot = step_graph(_write(tmp_path, STRIDED), display=Display(digits=9))
    out_c1, out_p1, dk1, error = _torch_step()
    assert np.allclose(_grid(dot, "c1", "out_c1"), out_c1, rtol=1e-8, atol=1e-12)
    assert np.allclose(_grid(dot, "p1", "out_p1"), out_p1, rtol=1e-8, atol=1e-12)
    assert np.allclose(_after(dot, "c1_kernel", "dE_total/dk1"), dk1, rtol=1e-8, atol=1e-12)
    assert float(re.search(r"E_total = ([-\d.e]+)", dot).group(1)) == pytest.approx(error, rel=1e-8)
    assert "skip path (+)" in dot and "cluster_r1" in dot  # the residual block and its skip path


def test_the_diagram_draws_the_kernels_and_their_gradients(tmp_path) -> None:
    path = _write(tmp_path, STRIDED)
    dk1 = _torch_step()[2]
    shown = network_diagram(path, show="gradients", digits=9, output=str(tmp_path / "d.dot"))
    assert shown == ""
    dot = (tmp_path / "d.dot").read_text()
    assert np.allclose(_after(dot, "c1_kernel", "dE_total/dk1"), dk1, rtol=1e-8, atol=1e-12)
    weights = (tmp_path / "w.dot")
    network_diagram(path, digits=9, output=str(weights))
    assert _after(weights.read_text(), "c1_kernel", "k1").tolist() == list(np.ravel(STRIDED["layers"][1]["weights"]))


def test_a_big_map_is_drawn_by_its_shape_and_the_picture_says_so(tmp_path) -> None:
    spec = {"layers": [{"type": "input", "shape": [2, 8, 8]}, {"type": "conv2d", "out_channels": 3, "kernel": 3},
                       {"type": "maxpool", "kernel": 2}, {"type": "flatten"}, {"type": "dense", "neurons": 2}],
            "seed": 1, "samples": [{"inputs": np.linspace(-1, 1, 128).reshape(2, 8, 8).tolist(), "targets": [0, 1]}]}
    dot = step_graph(_write(tmp_path, spec), display=Display(digits=4))
    assert "128 values left out" in dot and "c1: 108 values and error signals" in dot
    assert "stepgrad explain (--all) shows every value" in dot
    assert _grid(dot, "p1", "out_p1").size == 27  # a small map keeps its values


def test_options_for_dense_scalars_are_refused_in_one_line(tmp_path) -> None:
    path = _write(tmp_path, STRIDED)
    with pytest.raises(StepgradError, match="--only draws a dense network"):
        step_graph(path, only="k1")
    with pytest.raises(StepgradError, match="unknown picture format"):
        network_diagram(path, output=str(tmp_path / "net.txt"))


@pytest.mark.graphviz
@pytest.mark.parametrize("which", [0, 3, 9, "strided"])
def test_graphviz_lays_out_the_gallery(tmp_path, which, artifacts) -> None:
    require_tool("dot")
    pytest.importorskip("graphviz")
    path = _write(tmp_path, STRIDED if which == "strided" else random_spec(which))
    for command, name in ((step_graph, "graph"), (network_diagram, "diagram")):
        target = tmp_path / f"{name}.svg"
        command(path, output=str(target))
        svg = target.read_text()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
        command(path, output=str(artifacts / f"conv-{name}-{which}.png"))


def test_a_spec_without_samples_has_a_diagram_but_no_step(tmp_path) -> None:
    path = _write(tmp_path, {"layers": [{"type": "input", "shape": [1, 3, 3]}, {"type": "maxpool", "kernel": 2}]})
    assert "p1 · maxpool" in network_diagram(path, output=str(tmp_path / "d.dot")) + (tmp_path / "d.dot").read_text()
    with pytest.raises(StepgradError, match="no samples"):
        step_graph(path)
    with pytest.raises(StepgradError, match="showing gradients needs samples"):
        network_diagram(path, show="gradients")
