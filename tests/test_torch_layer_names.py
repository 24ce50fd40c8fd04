"""explain_torch on conv, rnn, attention and normalization modules names every parameter as PyTorch indexes it
(`0.rnn.weight_hh_l0[0, 1]`, `2.attention.in_proj_weight[3, 0]`, `1.weight[1]`, `0.weight[0, 0, 1, 2]`).

Reference: the torch module itself. The named element of the torch tensor equals the trace's value, and after
autograd on the module (the same loss, float64) its .grad equals the trace's gradient of that name.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import stepgrad
from conftest import slow_after
from conv_gallery import random_spec
from seq_gallery import random_attention_spec, random_norm_spec, random_rnn_spec
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.names import gradient
from stepgrad.interop.comparison import torch_sample_losses
from stepgrad.interop.sequences import multihead_module, recurrent_module

torch = pytest.importorskip("torch")
nn = torch.nn
ELEMENT = re.compile(r"^([A-Za-z0-9_.]+)\[([0-9, ]+)\]$")


def _elements(torch_name: str) -> list[tuple[str, tuple[int, ...]]]:
    """(parameter, index) of each element a torch name adds up (`a[0] + b[0]`: nn.RNN's two biases)."""
    found = []
    for part in torch_name.split(" + "):
        match = ELEMENT.match(part)
        assert match, torch_name
        found.append((match[1], tuple(int(i) for i in match[2].split(","))))
    return found


def _autograd(model, net: LayerNetwork) -> float:
    """The batch loss of stepgrad's loss (by name) on the module's own output, the mean over the samples (as
    explain_torch reads a module: torch's default reduction), backpropagated by torch."""
    x = torch.tensor(net.inputs)
    activation = net.layers[-1].activation
    logits = (model[:-1] if activation != "linear" else model)(x)  # a combined loss (sigmoid + cross-entropy) reads these
    out = model[-1](logits) if activation != "linear" else logits
    per_sample = torch_sample_losses(net.loss, activation, logits.flatten(1), out.flatten(1),
                                     torch.tensor(net.targets)) * net.loss_scale
    per_sample.mean().backward()
    return float(per_sample.mean().detach())


def _check_names(model, net: LayerNetwork, trace) -> set[str]:
    """Every torch parameter of the model is named, each element's value and .grad equal to the trace's."""
    assert trace.values["E_total"] == pytest.approx(_autograd(model, net), rel=1e-12)
    names = trace.meta["torch"]["names"]
    seen = set()
    for ours, theirs in names.items():
        elements = _elements(theirs)
        value = sum(float(model.get_parameter(p).detach()[at]) for p, at in elements)
        assert trace.values[ours] == pytest.approx(value, rel=1e-15, abs=1e-15), (ours, theirs)
        for p, at in elements:
            seen.add(p)
            param = model.get_parameter(p)
            if param.grad is not None:
                assert trace.values[gradient(ours)] == pytest.approx(float(param.grad[at]), rel=1e-9, abs=1e-13), \
                    (ours, theirs)
        assert trace.step(ours).note == f"PyTorch: {theirs}"
    assert seen == {n for n, _ in model.named_parameters()}  # every parameter torch has is named
    assert len(names) == sum(layer.params[r].size for layer in net.all_layers() for r in layer.params)
    return seen


def _sequence_spec(seed: int) -> tuple[dict, str]:
    kind = ("rnn", "attention", "multihead", "norm")[seed % 4]
    if kind == "rnn":
        spec = random_rnn_spec(seed)
        for table in spec["layers"]:
            if isinstance(table, dict):
                table.pop("truncate", None)  # truncated BPTT is refused by explain (not a derivative)
    elif kind == "norm":
        spec = random_norm_spec(seed)
    else:
        spec = random_attention_spec(seed, torch_shaped=kind == "multihead")
    for table in spec["layers"]:
        if isinstance(table, dict):
            table.pop("variance", None)  # the unbiased variance has no torch module
    return spec, "multihead" if kind == "multihead" else "head"


@pytest.mark.parametrize("seed", slow_after(4, range(16)))
def test_sequence_modules_are_named_as_torch_indexes_them(seed):
    spec, attention = _sequence_spec(seed)
    net = LayerNetwork.from_dict(spec)
    model = stepgrad.to_torch(net, attention=attention)
    trace = stepgrad.explain_torch(model, net.inputs, net.targets, loss=net.loss, lr=net.learning_rate,
                                   step_reduction=net.step_reduction)
    _check_names(model, net, trace)
    assert "In PyTorch (Sequential): " in trace.section("given").intro


@pytest.mark.parametrize("seed", slow_after(2, range(10)))
def test_conv_modules_are_named_as_torch_indexes_them(seed):
    spec = random_spec(seed, smooth=True)
    spec["loss"] = "half_squared_error"
    spec["layers"][-1]["activation"] = "sigmoid"  # a loss of the outputs alone (torch_sample_losses reads them)
    net = LayerNetwork.from_dict(spec)
    model = stepgrad.to_torch(net)
    trace = stepgrad.explain_torch(model, net.inputs, net.targets, loss=net.loss, lr=net.learning_rate)
    _check_names(model, net, trace)
    kernels = [n for n, t in trace.meta["torch"]["names"].items() if t.count(",") == 3]
    assert kernels or all(layer.kind != "conv2d" for layer in net.all_layers())


@pytest.mark.slow  # a torch run of a few seconds: make test (CI)
def test_the_named_modules_of_the_issue_read_as_torch_writes_them():
    """nn.RNN inside a module, nn.LayerNorm, nn.MultiheadAttention's stacked in_proj_weight, a Conv2d kernel."""
    torch.manual_seed(5)
    rnn = nn.RNN(2, 2, dtype=torch.float64)
    rnn.bias_hh_l0.requires_grad_(False)  # stepgrad's one bias is their sum: one of them trains
    mha = nn.MultiheadAttention(2, 1, batch_first=True, dtype=torch.float64)
    model = nn.Sequential(recurrent_module()(rnn, None, "sequence"), nn.LayerNorm(2, dtype=torch.float64),
                          multihead_module()(mha, causal=True, output="last"), nn.Linear(2, 1, dtype=torch.float64),
                          nn.Sigmoid())
    x, t = torch.rand(2, 3, 2, dtype=torch.float64), torch.rand(2, 1, dtype=torch.float64)
    trace = stepgrad.explain_torch(model, x, t, loss="half_squared_error", lr=0.1)
    names = trace.meta["torch"]["names"]
    assert names["Wh1[1,2]"] == "0.rnn.weight_hh_l0[0, 1]" and names["gamma_n1[2]"] == "1.weight[1]"
    assert names["Wk1[2,1]"] == "2.attention.in_proj_weight[3, 0]"
    assert names["bh1[1]"] == "0.rnn.bias_ih_l0[0] + 0.rnn.bias_hh_l0[0]"
    net = stepgrad.from_torch(model, input_shape=(3, 2))
    net.inputs, net.targets = x.numpy(), t.numpy()
    _check_names(model, net, trace)
    text = stepgrad.render(trace, "text")
    assert "Wh1[1,1]..Wh1[2,2] = 0.rnn.weight_hh_l0[0, 0]..[1, 1]" in text.replace("\n", " ")

    torch.manual_seed(6)
    conv = nn.Sequential(nn.Conv2d(1, 2, 3, dtype=torch.float64), nn.Tanh(), nn.Flatten(),
                         nn.Linear(8, 2, dtype=torch.float64), nn.Sigmoid())
    x, t = torch.rand(2, 1, 4, 4, dtype=torch.float64), torch.rand(2, 2, dtype=torch.float64)
    trace = stepgrad.explain_torch(conv, x, t, lr=0.1)
    kernel = next(n for n, theirs in trace.meta["torch"]["names"].items() if theirs == "0.weight[0, 0, 1, 2]")
    assert trace.values[kernel] == conv[0].weight[0, 0, 1, 2].item()
    for fmt in ("text", "html", "latex", "json"):
        assert "0.weight[0, 0, 0, 0]" in stepgrad.render(trace, fmt).replace("\\", "")


def test_a_kernel_turned_for_true_convolution_is_named_where_torch_holds_it():
    from stepgrad.interop.compare_layers import read_step
    from stepgrad.tracing.torch_layer_names import layer_torch_names

    torch.manual_seed(7)
    conv = nn.Sequential(nn.Conv1d(2, 1, 3, dtype=torch.float64), nn.Flatten(), nn.Linear(3, 1, dtype=torch.float64))
    x, t = torch.rand(2, 2, 5, dtype=torch.float64), torch.rand(2, 1, dtype=torch.float64)
    net, pairs, _ = read_step(conv, x, t, convolution="convolution")
    names, _ = layer_torch_names(pairs)
    layer = net.all_layers()[0]
    for at in np.ndindex(*layer.params["kernel"].shape):
        ours = layer.parameter_name("kernel", tuple(i + 1 for i in at))
        ((param, index),) = _elements(names[ours])
        assert float(layer.params["kernel"][at]) == conv.get_parameter(param)[index].item()
    assert names[layer.parameter_name("kernel", (1, 1, 1))] == "0.weight[0, 0, 2]"  # turned: the last tap first


@pytest.mark.parametrize("seed", slow_after(2, range(8)))
def test_a_network_from_torch_keeps_the_names_in_its_spec_and_explain_says_them(seed):
    """from_torch(model, input_shape=...) records the names in the spec's [torch] table: `stepgrad.explain` of it (and
    of the spec written out and read back) names every parameter as explain_torch does; an edited network none."""
    import json

    spec, attention = _sequence_spec(seed) if seed % 2 else (random_spec(seed, smooth=True), "head")
    if not seed % 2:
        spec["loss"], spec["layers"][-1]["activation"] = "half_squared_error", "sigmoid"
    net = LayerNetwork.from_dict(spec)
    model = stepgrad.to_torch(net, attention=attention)
    read = stepgrad.from_torch(model, input_shape=net.input_shape, loss=net.loss, inputs=net.inputs,
                               targets=net.targets, step_reduction=net.step_reduction)
    again = LayerNetwork.from_dict(json.loads(json.dumps(read.spec)))
    trace = stepgrad.explain(again)
    _check_names(model, again, trace)
    assert trace.meta["torch"]["names"] == stepgrad.explain_torch(
        model, net.inputs, net.targets, loss=net.loss, step_reduction=net.step_reduction).meta["torch"]["names"]
    edited = json.loads(json.dumps(read.spec))
    first = edited["torch"]["parameters"][0]
    first["shape"] = [n + 1 for n in first["shape"]]  # as if the layer had been resized since
    assert "torch" not in stepgrad.explain(LayerNetwork.from_dict(edited)).meta


@pytest.mark.parametrize("change, message", [
    (lambda t: t["parameters"][0].update(layer="zz9"), "no layer 'zz9' in this network"),
    (lambda t: t["parameters"][0].update(roles=["nope"]), "expected parameters of layer"),
    (lambda t: t["parameters"][0].update(name="0.weight; import os"), "expected a torch parameter name"),
    (lambda t: t.update(extra=1), "expected a table with the keys model, parameters"),
])
def test_a_bad_torch_table_in_a_layer_spec_is_one_line(change, message):
    torch.manual_seed(8)
    model = nn.Sequential(nn.Conv1d(1, 1, 2, dtype=torch.float64), nn.Flatten(), nn.Linear(3, 1, dtype=torch.float64))
    spec = stepgrad.from_torch(model, input_shape=(1, 4)).spec
    change(spec["torch"])
    with pytest.raises(stepgrad.SpecError) as err:
        LayerNetwork.from_dict(spec)
    assert message in str(err.value) and "\n" not in str(err.value)
