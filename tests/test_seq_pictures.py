"""`stepgrad graph` and `stepgrad diagram` of sequence networks: the rnn unrolled, the attention head, the norms.

The numbers drawn in the grids are read back out of the DOT and compared with PyTorch computing the same
network on its own: nn.RNN for the rnn's states (and the same recurrence written out in torch for the
gradients by autograd of every step's h), an attention head written in torch operations (scaled scores,
causal mask, softmax over the keys), nn.BatchNorm1d in training mode (its running statistics) with the
statistics written out for their gradients; never with stepgrad's own output.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from conftest import require_tool
from seq_gallery import random_attention_spec, random_norm_spec, random_rnn_spec
from seq_trace_gallery import ATTENTION_CAUSAL, BATCHNORM_TRAINING, LAYERNORM_DENSE, RNN_LAST, RNN_SEQUENCE
from stepgrad.api import Display, network_diagram, step_graph

torch = pytest.importorskip("torch")
F = torch.nn.functional
CELL = re.compile(r'<TD(?: BGCOLOR="#[0-9a-f]{6}")?>(?:<FONT COLOR="\w+">)?([^<]*)(?:</FONT>)?</TD>')


def _write(tmp_path, spec: dict, name: str = "net") -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(spec))
    return str(path)


def _grid(dot: str, node: str, title: str) -> np.ndarray:
    """The numbers of the grid titled `title` in node `node`, row by row (a masked cell: nan)."""
    line = next(row for row in dot.splitlines() if row.strip().startswith(f'"{node}" ['))
    block = line.split(f">{title}</FONT>", 1)[1].split("</TABLE>", 1)[0]
    return np.array([math.nan if c == "–" else float(c) for c in CELL.findall(block)])


def t(value) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64)


def close(drawn: np.ndarray, expected) -> bool:
    expected = np.asarray(expected.detach() if hasattr(expected, "detach") else expected, dtype=float).ravel()
    return drawn.shape == expected.shape and np.allclose(drawn, expected, rtol=1e-8, atol=1e-12, equal_nan=True)


def test_the_rnn_is_drawn_unrolled_with_pytorchs_states_and_gradients(tmp_path) -> None:
    dot = step_graph(_write(tmp_path, RNN_LAST), display=Display(digits=10))
    rnn, dense = RNN_LAST["layers"][1], RNN_LAST["layers"][2]
    xs = t([s["inputs"] for s in RNN_LAST["samples"]])
    module = torch.nn.RNN(2, 2, batch_first=True).double()
    with torch.no_grad():
        module.weight_ih_l0.copy_(t(rnn["weights_x"]))
        module.weight_hh_l0.copy_(t(rnn["weights_h"]))
        module.bias_ih_l0.copy_(t(rnn["biases"]))
        module.bias_hh_l0.zero_()
    states = module(xs)[0]  # (samples, steps, hidden)
    wx, wh, b = (t(rnn[k]).requires_grad_() for k in ("weights_x", "weights_h", "biases"))
    h, hs = torch.zeros(2, 2, dtype=torch.float64), []
    for step in range(3):  # the same recurrence written out, to reach every step's h by autograd
        h = torch.tanh(xs[:, step] @ wx.T + h @ wh.T + b)
        h.retain_grad()
        hs.append(h)
    out = torch.sigmoid(h @ t(dense["weights"]).T + t(dense["biases"]))
    errors = 0.5 * ((t([s["targets"] for s in RNN_LAST["samples"]]) - out) ** 2).sum(dim=1)
    errors[0].backward(retain_graph=True)  # sample 1's own error: dE_total[1]/dh1_t<t>[1]
    own = [x.grad[0].clone() for x in hs]
    for x in (wx, wh, b):
        x.grad = None
    errors.mean().backward()  # E_total: the mean over the samples
    for step in range(3):
        assert close(_grid(dot, f"h1_t{step + 1}", f"h1_t{step + 1}"), states[0, step])
        assert close(_grid(dot, f"h1_t{step + 1}", f"dE_total/dh1_t{step + 1}"), own[step])
    assert "Wh1" in re.search(r'"h1_t1" -> "h1_t2" \[[^]]*\]', dot).group(0)  # the recurrent edge
    assert close(_grid(dot, "h1_weight_h", "dE_total/dWh1"), wh.grad)
    assert close(_grid(dot, "h1_weight_x", "dE_total/dWx1"), wx.grad)
    assert float(re.search(r"E_total = ([-\d.e]+)", dot).group(1)) == pytest.approx(float(errors.mean().detach()), rel=1e-9)


def test_a_sequence_output_feeds_every_step_to_the_next_layer(tmp_path) -> None:
    dot = step_graph(_write(tmp_path, RNN_SEQUENCE), display=Display(digits=10))
    for step in (1, 2, 3):
        assert f'"h1_t{step}" -> "d1_in"' in dot
    assert close(_grid(dot, "h1_t0", "h1_t0"), RNN_SEQUENCE["layers"][1]["h0"])
    assert _grid(dot, "d1", "out_d1").size == 3  # a row per time step


def _attention(spec: dict):
    layer, dense = spec["layers"][1], spec["layers"][2]
    x = t(spec["samples"][0]["inputs"])
    p = {k: t(v).requires_grad_() for k, v in layer.items() if k.startswith(("weights_", "biases_"))}
    q, k, v = (F.linear(x, p[f"weights_{r}"], p[f"biases_{r}"]) for r in "qkv")
    for tensor in (q, k, v):
        tensor.retain_grad()
    score = q @ k.T / math.sqrt(layer["key_size"])
    score.retain_grad()
    mask = torch.triu(torch.ones(3, 3, dtype=torch.bool), diagonal=1)
    a = torch.softmax(score.masked_fill(mask, -math.inf), dim=-1)
    a.retain_grad()
    out = F.linear(a @ v, p["weights_o"], p["biases_o"])
    y = torch.tanh(F.linear(out, t(dense["weights"]), t(dense["biases"])))
    error = 0.5 * ((t(spec["samples"][0]["targets"]).reshape(3, 1) - y) ** 2).sum()
    error.backward()
    return q, k, v, score, a, out, mask, p


def test_the_attention_head_draws_its_boxes_with_pytorchs_numbers(tmp_path) -> None:
    dot = step_graph(_write(tmp_path, ATTENTION_CAUSAL), display=Display(digits=10))
    q, k, v, score, a, out, mask, p = _attention(ATTENTION_CAUSAL)
    masked = lambda x: x.detach().masked_fill(mask, math.nan)  # noqa: E731
    assert close(_grid(dot, "a1_q", "q_a1"), q) and close(_grid(dot, "a1_k", "k_a1"), k)
    assert close(_grid(dot, "a1_v", "v_a1"), v) and close(_grid(dot, "a1_out", "out_a1"), out)
    assert close(_grid(dot, "a1_score", "score_a1"), masked(score))
    assert close(_grid(dot, "a1_a", "a_a1"), masked(a))  # the heat grid, its values written
    assert close(_grid(dot, "a1_a", "dE_total/da_a1"), masked(a.grad))
    assert close(_grid(dot, "a1_score", "dE_total/dscore_a1"), masked(score.grad))
    assert close(_grid(dot, "a1_q", "dE_total/dq_a1"), q.grad)
    assert close(_grid(dot, "a1_weight_q", "dE_total/dWq1"), p["weights_q"].grad)
    assert 'BGCOLOR="#' in dot.split('"a1_a" [', 1)[1].splitlines()[0]


def test_batchnorm_draws_the_batch_statistics_and_the_batch_errors_derivatives(tmp_path) -> None:
    dot = step_graph(_write(tmp_path, BATCHNORM_TRAINING), display=Display(digits=10))
    layers = BATCHNORM_TRAINING["layers"]
    x = t([s["inputs"] for s in BATCHNORM_TRAINING["samples"]])
    hidden = torch.tanh(x @ t(layers[1]["weights"]).requires_grad_().T)
    gamma, beta = t(layers[2]["gamma"]).requires_grad_(), t(layers[2]["beta"])
    module = torch.nn.BatchNorm1d(2).double().train()
    with torch.no_grad():
        module.weight.copy_(gamma)
        module.bias.copy_(beta)
    by_module = module(hidden)
    mu = hidden.mean(dim=0)
    mu.retain_grad()
    var = ((hidden - mu) ** 2).mean(dim=0)
    var.retain_grad()
    xhat = (hidden - mu) / torch.sqrt(var + 1e-5)
    xhat.retain_grad()
    out = gamma * xhat + beta
    assert torch.allclose(out, by_module)
    y = torch.sigmoid(out @ t(layers[3]["weights"]).T + t(layers[3]["biases"]))
    error = (0.5 * ((t([s["targets"] for s in BATCHNORM_TRAINING["samples"]]) - y) ** 2).sum(dim=1)).mean()
    error.backward()
    assert close(_grid(dot, "n1_stats", "mu_n1"), mu) and close(_grid(dot, "n1_stats", "var_n1"), var)
    assert close(_grid(dot, "n1_stats", "dE_total/dmu_n1"), mu.grad)
    assert close(_grid(dot, "n1_stats", "dE_total/dvar_n1"), var.grad)
    assert close(_grid(dot, "n1_stats", "running_mean_n1+"), module.running_mean)
    assert close(_grid(dot, "n1_xhat", "xhat_n1"), xhat[0])
    assert close(_grid(dot, "n1_xhat", "dE_total/dxhat_n1"), xhat.grad[0])  # the batch error's, sample 1's value
    assert close(_grid(dot, "n1_gamma", "dE_total/dgamma_n1"), gamma.grad)
    assert "mixes the samples" in dot


def test_layernorm_draws_its_three_paths(tmp_path) -> None:
    dot = step_graph(_write(tmp_path, LAYERNORM_DENSE), display=Display(digits=10))
    x = t(LAYERNORM_DENSE["samples"][0]["inputs"])
    layer = LAYERNORM_DENSE["layers"][1]
    out = F.layer_norm(x, (3,), t(layer["gamma"]), t(layer["beta"]))
    assert close(_grid(dot, "n1", "out_n1"), out)
    assert close(_grid(dot, "n1_stats", "mu_n1"), x.mean().reshape(1))
    for edge in ('"n1_stats" -> "n1_xhat"', '"x" -> "n1_stats"', '"x" -> "n1_xhat"', '"n1_xhat" -> "n1"'):
        assert edge in dot


def test_a_long_sequence_is_drawn_by_shape_and_says_what_was_left_out(tmp_path) -> None:
    spec = {"loss": "half_squared_error", "seed": 2,
            "layers": [{"type": "sequence", "steps": 10, "features": 3}, {"type": "rnn", "hidden": 20},
                       {"type": "dense", "neurons": 1, "activation": "sigmoid"}],
            "samples": [{"inputs": np.linspace(-1, 1, 30).reshape(10, 3).tolist(), "targets": [0.5]}]}
    dot = step_graph(_write(tmp_path, spec))
    assert "h1: time steps 6 to 9" in dot and '"h1_gap"' in dot and '"h1_t10"' in dot and '"h1_t7"' not in dot
    assert "Wh1: 400 entries" in dot and "stepgrad explain (--all) shows every value" in dot
    assert _grid(dot, "h1_t3", "h1_t3").size == 20  # a step's 20 units are still drawn


def test_the_diagram_draws_the_weights_and_pytorchs_gradients(tmp_path) -> None:
    path = _write(tmp_path, ATTENTION_CAUSAL)
    p = _attention(ATTENTION_CAUSAL)[-1]
    network_diagram(path, show="gradients", digits=10, output=str(tmp_path / "d.dot"))
    dot = (tmp_path / "d.dot").read_text()
    assert close(_grid(dot, "a1_weight_v", "dE_total/dWv1"), p["weights_v"].grad)
    network_diagram(path, digits=10, output=str(tmp_path / "w.dot"))
    weights = (tmp_path / "w.dot").read_text()
    assert close(_grid(weights, "a1_weight_k", "Wk1"), ATTENTION_CAUSAL["layers"][1]["weights_k"])


@pytest.mark.graphviz
@pytest.mark.parametrize("which", ["rnn_last", "attention", "batchnorm", "random"])
def test_graphviz_lays_out_sequence_networks(tmp_path, which, artifacts) -> None:
    require_tool("dot")
    pytest.importorskip("graphviz")
    specs = {"rnn_last": [RNN_LAST], "attention": [ATTENTION_CAUSAL], "batchnorm": [BATCHNORM_TRAINING],
             "random": [random_rnn_spec(s, truncate=False) for s in range(3)] + [random_attention_spec(s) for s in range(3)]
             + [random_norm_spec(s) for s in range(4)]}[which]
    for n, spec in enumerate(specs):
        path = _write(tmp_path, spec, f"net{n}")
        for command, name in ((step_graph, "graph"), (network_diagram, "diagram")):
            target = tmp_path / f"{name}{n}.svg"
            command(path, output=str(target))
            svg = target.read_text()
            assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    if which != "random":
        step_graph(_write(tmp_path, specs[0]), output=str(artifacts / f"seq-graph-{which}.png"))


def test_a_layernorm_on_a_sequence_feeds_stacked_rnns_step_by_step(tmp_path) -> None:
    spec = {"loss": "half_squared_error", "seed": 2,
            "layers": [{"type": "sequence", "steps": 3, "features": 2}, {"type": "layernorm"},
                       {"type": "rnn", "hidden": 2, "output": "sequence"}, {"type": "rnn", "hidden": 2},
                       {"type": "dense", "neurons": 1}],
            "samples": [{"inputs": [[0.1, 0.5], [0.2, -0.3], [0.3, 0.9]], "targets": [1]}]}
    dot = step_graph(_write(tmp_path, spec), display=Display(digits=10))
    x = t(spec["samples"][0]["inputs"])
    assert close(_grid(dot, "n1", "out_n1"), F.layer_norm(x, (2,)))  # a row per time step
    assert close(_grid(dot, "n1_stats", "mu_n1"), x.mean(dim=1))  # one group per step
    for step in (1, 2, 3):  # step t of the first rnn feeds step t of the second
        assert f'"h1_t{step}" -> "h2_t{step}"' in dot and f'"n1" -> "h1_t{step}" [label=" x[{step}]"]' in dot
