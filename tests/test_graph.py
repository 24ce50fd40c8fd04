"""The computation graph: its gradients are the trace's and PyTorch autograd's; DOT parses; SVG renders.

Reference: PyTorch autograd on the same network, written from the definitions (test_engine_torch's
forward pass and losses). Per-sample nodes carry the gradient of their own sample's error, i.e.
S * d(batch error)/d(node); parameters carry d(batch error)/d(parameter). Tolerance: 1e-9 relative
with an absolute floor of 1e-6 (as test_engine_torch).
"""

from __future__ import annotations

import json
import sys

import pytest

import stepgrad
from conftest import require_tool, slow_after
from stepgrad.tracing.graph import computation_graph
from test_engine_fd import random_network
from views_gallery import gallery

torch = pytest.importorskip("torch")
from test_engine_torch import activate, batch_loss  # noqa: E402  (after importorskip: torch is needed)

RTOL, FLOOR = 1e-9, 1e-6


def torch_gradients(net: stepgrad.Network):
    """(nets, outs, weight grads, bias grads) by autograd: per-sample node grads, batch parameter grads."""
    x = torch.tensor(net.inputs, dtype=torch.float64)
    t = torch.tensor(net.targets, dtype=torch.float64)
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in net.weights]
    bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in net.biases]
    a, zs, outs = x, [], []
    for l, (w, b) in enumerate(zip(ws, bs)):
        z = a @ w.T + b
        a = activate(net.activations[l], z)
        zs.append(z)
        outs.append(a)
    loss = batch_loss(net, zs[-1], a, t)
    S = x.shape[0]
    grads = torch.autograd.grad(loss, zs + outs + ws + bs, allow_unused=True)
    depth = len(ws)
    as_np = [None if g is None else g.detach().numpy() for g in grads]
    nets = [g * S for g in as_np[:depth]]
    outs_g = [None if g is None else g * S for g in as_np[depth:2 * depth]]
    return nets, outs_g, as_np[2 * depth:3 * depth], as_np[3 * depth:]


def expected(node, nets, outs, wg, bg):
    l = (node.layer or 0) - 1
    if node.kind in ("net", "product"):
        return nets[l][node.sample, node.position[0]]
    if node.kind == "out":
        return None if outs[l] is None else outs[l][node.sample, node.position[0]]
    if node.kind == "weight":
        return wg[l][node.position]
    if node.kind == "bias":
        return bg[l][node.position[0] if bg[l].shape[0] > 1 else 0]
    return None


@pytest.mark.parametrize("chunk", slow_after(1, range(2)))
def test_node_gradients_are_the_trace_values_and_autograd(chunk):
    for seed in range(3000 + chunk * 25, 3025 + chunk * 25):
        net = random_network(seed)
        trace = stepgrad.explain(net, update_order="synchronous")
        values = trace.values
        graph = computation_graph(trace)
        nets, outs, wg, bg = torch_gradients(net)
        compared = 0
        for node in graph.nodes:
            if node.value_name:
                assert node.value == values[node.value_name]
            if node.grad_name is None:
                continue
            assert node.grad == values[node.grad_name], (seed, node)
            ref = expected(node, nets, outs, wg, bg)
            assert ref is not None, (seed, node)
            assert abs(node.grad - ref) <= RTOL * max(abs(ref), FLOOR), (seed, node.label, node.grad, ref)
            compared += 1
        S, layers = net.inputs.shape[0], net.layers
        products = sum(layers[l] * layers[l + 1] for l in range(len(layers) - 1))
        assert compared >= S * products + products  # every product and every weight, at least


def test_deck_graph_shape_and_numbers():
    graph = computation_graph(stepgrad.explain(stepgrad.builtin()))
    kinds = [n.kind for n in graph.nodes]
    assert kinds.count("product") == 8 and kinds.count("net") == 4 and kinds.count("out") == 4
    assert kinds.count("error") == 2 and kinds.count("total") == 1
    assert graph.node("w5").grad == pytest.approx(0.082167041, abs=1e-9)
    assert graph.node("out_h1").grad_name == "dE_total/dout_h1"
    sub = graph.only("w1")
    labels = {n.label for n in sub.nodes}
    assert {"w1", "w1 * i1", "net_h1", "out_h1", "w5 * out_h1", "net_o1", "E_total"} <= labels
    # every operand of a node on w1's path is there (i1 of w1 * i1, w5 of w5 * out_h1), drawn dashed ...
    assert {"i1", "w5", "w2 * i2", "w6 * out_h2"} <= labels
    assert {sub.node(k).id for k in ("i1", "w5")} <= set(sub.meta["context"])
    assert 'style="rounded,filled,dashed"' in sub.to_dot()
    # ... but not what w1 does not reach, nor the operands of those operands
    assert not labels & {"w2", "net_h2", "out_h2", "i2"}


@pytest.mark.graphviz
@pytest.mark.parametrize("name", list(gallery()))
def test_dot_parses_and_svg_renders(name):
    graphviz = pytest.importorskip("graphviz")
    require_tool("dot")
    graph = computation_graph(stepgrad.explain(gallery()[name]))
    laid_out = json.loads(graphviz.Source(graph.to_dot()).pipe(format="json"))
    assert len(laid_out["objects"]) == len(graph.nodes)
    assert len(laid_out["edges"]) == len(graph.edges)
    svg = graph.render("svg").decode()
    assert svg.count('class="node"') == len(graph.nodes)
    assert "dE_total/dw1" in svg
    assert graph._repr_svg_().startswith("<?xml")


@pytest.mark.graphviz
def test_cli_writes_svg_pdf_and_dot(cli, tmp_path):
    require_tool("dot")
    for suffix, magic in ((".svg", b"<?xml"), (".pdf", b"%PDF"), (".dot", b"digraph")):
        out = tmp_path / f"g{suffix}"
        done = cli("graph", "--only", "w1", "-o", str(out))
        assert done.returncode == 0, done.stderr
        assert out.read_bytes().startswith(magic)
    bad = cli("graph", "-o", str(tmp_path / "g.jpeg"))
    assert bad.returncode == 2 and "unknown graph format" in bad.stderr and "Traceback" not in bad.stderr
    bad = cli("graph", "--only", "w99")
    assert bad.returncode == 2 and "no weight or bias named 'w99'" in bad.stderr


def test_missing_graphviz_package_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    graph = computation_graph(stepgrad.explain(stepgrad.builtin()))
    with pytest.raises(stepgrad.StepgradError, match=r"pip install 'stepgrad\[graph\]'"):
        graph.render("svg")
