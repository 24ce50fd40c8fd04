"""The matrix form holds the scalar trace's numbers, arranged so that the matrix equations hold.

Two independent checks on 100 seeded random networks with batches (1-4 hidden layers, every
activation and loss): every entry equals the scalar trace's value of the quantity it names, and the
arrangement is right: recomputing each equation with numpy from the view's operand matrices
(z = W a + b, delta = W^T delta_above * f'(z), grad W = delta a^T / S, W+ = W - eta grad W) gives the
view's result to 1e-12 relative (floor 1e-12).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import stepgrad
from conftest import slow_after
from stepgrad.formats.matrix_writers import FORMATS, render_matrix
from stepgrad.tracing.matrix import Matrix, matrix_view
from test_engine_fd import random_network
from views_gallery import gallery

RTOL = 1e-12


def arr(m: Matrix) -> np.ndarray:
    return np.array(m.values, dtype=float)


def assert_close(ours: np.ndarray, reference: np.ndarray, what: str) -> None:
    assert ours.shape == reference.shape, what
    assert np.all(np.abs(ours - reference) <= RTOL * np.maximum(np.abs(reference), 1.0)), what


def equations(view):
    return {eq.result.symbol: eq for block in view.blocks for eq in block.equations}


def batched(seed: int) -> stepgrad.Network:
    net = random_network(seed)
    if net.inputs.shape[0] == 1:  # every case a batch: repeat the sample, perturbed
        net.inputs = np.vstack([net.inputs, net.inputs * 0.5 + 0.1])
        net.targets = np.vstack([net.targets, net.targets])
    return net


@pytest.mark.parametrize("chunk", slow_after(2, range(4)))
def test_entries_are_trace_values_and_equations_hold(chunk):
    for seed in range(chunk * 25, chunk * 25 + 25):
        net = batched(seed)
        trace = stepgrad.explain(net, update_order="synchronous")
        values = trace.values
        view = matrix_view(trace)
        for m in view.matrices():
            for names, row in zip(m.names, m.values):
                for name, value in zip(names, row):
                    assert value == values[name], (seed, m.symbol, name)
        eqs = equations(view)
        depth, S = net.depth, net.inputs.shape[0]
        assert arr(eqs["a(0)"].result).shape == (net.layers[0], S)
        for l in range(1, depth + 1):
            W, a, b = (arr(m) for m in eqs[f"z({l})"].operands)
            assert_close(arr(eqs[f"z({l})"].result), W @ a + b, f"{seed} z({l})")
            delta, a_below = (arr(m) for m in eqs[f"grad W({l})"].operands)
            assert_close(arr(eqs[f"grad W({l})"].result), delta @ a_below.T / S, f"{seed} grad W({l})")
            W_old, eta, grad = (arr(m) for m in eqs[f"W({l})+"].operands)
            assert_close(arr(eqs[f"W({l})+"].result), W_old - eta * grad, f"{seed} W({l})+")
            if f"grad b({l})" in eqs:
                (d,) = (arr(m) for m in eqs[f"grad b({l})"].operands)
                rows = arr(eqs[f"grad b({l})"].result).shape[0]
                want = d.sum(axis=1, keepdims=True) / S if rows > 1 else np.array([[d.sum() / S]])
                assert_close(arr(eqs[f"grad b({l})"].result), want, f"{seed} grad b({l})")
        for l in range(1, depth):
            Wt, delta_up = (arr(m) for m in eqs[f"dE/da({l})"].operands)
            assert_close(arr(eqs[f"dE/da({l})"].result), Wt @ delta_up, f"{seed} dE/da({l})")
            assert_close(Wt, arr(eqs[f"z({l + 1})"].operands[0]).T, f"{seed} W({l + 1})^T")
            g, d = (arr(m) for m in eqs[f"delta({l})"].operands)
            assert_close(arr(eqs[f"delta({l})"].result), g * d, f"{seed} delta({l})")
        delta_out = eqs[f"delta({depth})"]
        if net.loss == "cross_entropy":
            a, t = (arr(m) for m in delta_out.operands)
            assert_close(arr(delta_out.result), a - t, f"{seed} output delta")
        elif net.loss == "cross_entropy_with_logits":  # softmax of the raw scores (rows: outputs) - t
            a, t = (arr(m) for m in delta_out.operands)
            e = np.exp(a - a.max(axis=0, keepdims=True))
            assert_close(arr(delta_out.result), e / e.sum(axis=0, keepdims=True) - t, f"{seed} output delta")
        elif net.loss == "binary_cross_entropy_with_logits":  # (sigmoid(raw score) - t) / outputs
            a, t = (arr(m) for m in delta_out.operands)
            assert_close(arr(delta_out.result), (1 / (1 + np.exp(-a)) - t) / a.shape[0], f"{seed} output delta")
        elif net.activations[-1] == "softmax":
            a, g = (arr(m) for m in delta_out.operands)
            assert_close(arr(delta_out.result), a * (g - (a * g).sum(axis=0, keepdims=True)), f"{seed} softmax delta")
        else:
            g, d = (arr(m) for m in delta_out.operands)
            assert_close(arr(delta_out.result), g * d, f"{seed} output delta")


def test_sequential_order_sends_deltas_through_the_updated_weights():
    trace = stepgrad.explain(stepgrad.builtin(), update_order="sequential")
    eq = equations(matrix_view(trace))["dE/da(1)"]
    assert eq.operands[0].names == (("w5+", "w7+"), ("w6+", "w8+"))
    assert "updated" in eq.note


def test_deck_numbers_in_matrix_form():
    """The deck's published figures, as matrices."""
    eqs = equations(matrix_view(stepgrad.explain(stepgrad.builtin())))
    assert np.allclose(arr(eqs["a(1)"].result).ravel(), [0.593269992, 0.596884378], atol=1e-9)
    assert np.allclose(arr(eqs["W(2)+"].result), [[0.35891648, 0.408666186], [0.511301270, 0.561370121]], atol=1e-8)
    assert np.allclose(arr(eqs["W(1)+"].result), [[0.149780716, 0.19956143], [0.24975114, 0.29950229]], atol=1e-8)


@pytest.mark.parametrize("name", list(gallery()))
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_names_every_entry(name, fmt):
    net = gallery()[name]
    trace = stepgrad.explain(net)
    out = render_matrix(trace, fmt, digits=6)
    if fmt == "json":
        data = json.loads(out)
        values = trace.values
        for block in data["blocks"]:
            for eq in block["equations"]:
                for m in [eq["result"], *eq["operands"]]:
                    for names, row in zip(m["names"], m["values"]):
                        assert row == [values[n] for n in names]
        return
    for step in trace:
        if step.kind == "delta":  # every error signal appears under its scalar name
            shown = stepgrad.core.names.latex_symbol(step.name) if fmt in ("latex", "slides", "markdown") else step.name
            assert shown in out, (fmt, step.name)


@pytest.mark.latex
@pytest.mark.parametrize("fmt", ["latex", "slides"])
def test_latex_compiles(fmt, tmp_path):
    import subprocess

    from conftest import require_tool

    pdflatex = require_tool("pdflatex")
    for i, net in enumerate(gallery().values()):
        tex = tmp_path / f"m{i}.tex"
        tex.write_text(render_matrix(stepgrad.explain(net), fmt))
        done = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout[-2000:]


def test_narrowed_trace_is_refused():
    with pytest.raises(stepgrad.StepgradError, match="whole trace"):
        matrix_view(stepgrad.explain(stepgrad.builtin()).select(["w5"]))


def test_html_page_and_notebook_display_show_every_entry_with_its_name():
    import re

    trace = stepgrad.explain(gallery()["2-3-3-1-relu-per-neuron"])
    view = matrix_view(trace)
    page = render_matrix(trace, "html")
    assert page.startswith("<!DOCTYPE html>")
    shown = set(re.findall(r'data-name="([^"]+)"', page))
    assert shown == {n for m in view.matrices() for row in m.names for n in row}
    assert 'data-name="dE_total/db_h1_1"' in view._repr_html_()
