"""to_torch / from_torch / compare_with_torch for nn.RNN, an attention head, nn.LayerNorm and nn.BatchNorm1d.

The reference is PyTorch itself: the module's own forward pass, autograd and torch.optim.SGD's step
(float64, 1e-9 relative), never stepgrad's numbers copied into a test. Hand-written modules (nn.RNN
with batch_first=False, a frozen nonzero bias_hh_l0, nn.MultiheadAttention given alone) check that
reading is not only the inverse of writing.
"""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad
from conftest import slow_after
from seq_gallery import random_attention_spec, random_norm_spec, random_rnn_spec
from stepgrad.core.errors import StepgradError
from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.interop.sequences import attention_module, multihead_module, recurrent_module

torch = pytest.importorskip("torch")
nn = torch.nn


def _spec(seed: int) -> tuple[dict, str]:
    """A random sequence or normalization spec torch can compute, and how to write its attention heads."""
    kind = ("rnn", "attention", "multihead", "norm")[seed % 4]
    if kind == "rnn":
        spec = random_rnn_spec(seed)  # truncated BPTT in about a third
    elif kind == "norm":
        spec = random_norm_spec(seed)
    else:
        spec = random_attention_spec(seed, torch_shaped=kind == "multihead")
    for table in spec["layers"]:
        if isinstance(table, dict):
            table.pop("variance", None)  # the unbiased variance has no torch module (refused: see below)
    return spec, "multihead" if kind == "multihead" else "head"


@pytest.mark.parametrize("seed", slow_after(6, range(40)))
def test_to_torch_computes_what_stepgrad_computes_and_reads_back(seed: int) -> None:
    spec, attention = _spec(seed)
    net = LayerNetwork.from_dict(spec)
    model = stepgrad.to_torch(net, attention=attention)
    ours = engine.forward(net, net.inputs).output
    with torch.no_grad():
        out = model(torch.tensor(net.inputs)).flatten(1).numpy()
    assert np.allclose(out, ours, rtol=1e-12, atol=1e-14)
    back = stepgrad.from_torch(model, input_shape=net.input_shape, loss=net.loss, step_reduction=net.step_reduction)
    assert [layer.kind for layer in back.all_layers()] == [layer.kind for layer in net.all_layers()]
    for a, b in zip(net.all_layers(), back.all_layers()):
        assert a.params.keys() == b.params.keys()
        for role in a.params:
            assert np.array_equal(a.params[role], b.params[role]), (a.label, role)
        assert a.describe() == b.describe()
    assert np.allclose(engine.forward(back, net.inputs).output, ours, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("seed", slow_after(8, range(50)))
def test_random_models_agree_with_autograd_and_an_sgd_step(seed: int) -> None:
    spec, attention = _spec(seed)
    net = LayerNetwork.from_dict(spec)
    model = stepgrad.to_torch(net, attention=attention)
    result = stepgrad.compare_with_torch(model, net.inputs, net.targets, loss=net.loss, lr=net.learning_rate,
                                         step_reduction=net.step_reduction)
    assert result.agrees(), str(result)
    compared = {p.parameter for p in result.parameters if p.status in ("trained", "fixed")}
    assert compared == {name for name, _ in model.named_parameters()}  # every parameter accounted for
    assert result.loss_torch == pytest.approx(result.loss_stepgrad, rel=1e-12)


def test_a_hand_written_rnn_time_major_with_a_frozen_second_bias() -> None:
    torch.manual_seed(1)
    rnn = nn.RNN(2, 3, nonlinearity="relu", dtype=torch.float64)  # batch_first=False: (steps, samples, features)
    with torch.no_grad():
        rnn.bias_hh_l0.copy_(torch.tensor([0.3, -0.2, 0.1]))
    rnn.bias_hh_l0.requires_grad_(False)
    h0 = torch.tensor([0.1, -0.4, 0.2], dtype=torch.float64)
    model = nn.Sequential(recurrent_module()(rnn, h0, "sequence"), nn.Linear(3, 1, dtype=torch.float64), nn.Tanh())
    x = torch.rand(2, 4, 2, dtype=torch.float64)
    t = torch.rand(2, 4, dtype=torch.float64) - 0.5
    net = stepgrad.from_torch(model, input_shape=(4, 2), step_reduction="mean")
    layer = net.layers[0]
    assert layer.describe().startswith("rnn h1: 4 steps of 2 -> 3 units, relu, h0 given, passes on every step's h")
    assert np.allclose(layer.params["bias"], (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().numpy(), rtol=0, atol=0)
    result = stepgrad.compare_with_torch(model, x, t, loss="half_squared_error", lr=0.3, step_reduction="mean")
    assert result.agrees(), str(result)
    statuses = {p.parameter: p.status for p in result.parameters}
    assert statuses["0.rnn.bias_hh_l0"] == "fixed" and statuses["0.rnn.bias_ih_l0"] == "trained"
    # the step by hand in torch: sum over steps of each sample's errors / 4 steps, mean over samples
    again = nn.Sequential(recurrent_module()(rnn, h0, "sequence"), model[1], model[2])
    loss = (0.5 * (t - again(x).flatten(1)) ** 2).sum(dim=1).div(4).mean()
    loss.backward()
    assert result.loss_torch == pytest.approx(loss.item(), rel=1e-12)


def test_truncated_bptt_is_a_recurrent_module_with_truncate() -> None:
    net = LayerNetwork.from_dict(random_rnn_spec(5, truncate=True, samples=3))
    rnn = next(layer for layer in net.all_layers() if layer.kind == "rnn")
    model = stepgrad.to_torch(net)
    wrapper = next(m for m in model if type(m) is recurrent_module())
    assert wrapper.truncate == rnn.truncate
    result = stepgrad.compare_with_torch(model, net.inputs, net.targets, loss=net.loss, lr=net.learning_rate,
                                         step_reduction=net.step_reduction)
    assert result.agrees(), str(result)
    assert rnn.truncate < rnn.in_shape[0]
    full_net = net.copy()
    full_net.all_layers()[rnn_index(net)].truncate = None
    truncated, exact = (engine.step(n, n.inputs, n.targets).grads[(rnn.label, "weight_h")] for n in (net, full_net))
    assert np.abs(truncated - exact).max() > 1e-6  # the truncated sums are not full BPTT's derivatives
    wrapper.truncate = None
    assert stepgrad.compare_with_torch(model, net.inputs, net.targets, loss=net.loss, lr=net.learning_rate,
                                       step_reduction=net.step_reduction).agrees()  # read back as full BPTT
    assert stepgrad.from_torch(model, input_shape=net.input_shape, step_reduction=net.step_reduction,
                               loss=net.loss).all_layers()[rnn_index(net)].truncate is None


def rnn_layer(net: LayerNetwork):
    return net.all_layers()[rnn_index(net)]


def rnn_index(net: LayerNetwork) -> int:
    return [layer.kind for layer in net.all_layers()].index("rnn")


def test_bare_torch_modules_are_read_alone() -> None:
    torch.manual_seed(2)
    rnn = nn.RNN(3, 2, bias=False, batch_first=True, dtype=torch.float64)
    x = torch.rand(3, 5, 3, dtype=torch.float64)
    t = torch.rand(3, 5 * 2, dtype=torch.float64)
    net = stepgrad.from_torch(rnn, input_shape=(5, 3), step_reduction="sum")
    assert net.layers[0].output == "sequence"
    assert stepgrad.compare_with_torch(rnn, x, t, lr=0.1, step_reduction="sum").agrees()
    mha = nn.MultiheadAttention(3, 1, dtype=torch.float64)  # batch_first=False, as PyTorch's default
    result = stepgrad.compare_with_torch(mha, x, torch.rand(3, 15, dtype=torch.float64), lr=0.1,
                                         step_reduction="mean")
    assert result.agrees(), str(result)
    assert {p.parameter for p in result.parameters} == {"in_proj_weight", "in_proj_bias", "out_proj.weight",
                                                        "out_proj.bias"}


def test_attention_written_in_torch_any_sizes_and_multihead_wrapped() -> None:
    torch.manual_seed(3)
    head = attention_module()(2, 3, 4, 2, scaled=False, causal=True, output="last", dtype=torch.float64)
    model = nn.Sequential(head, nn.Linear(2, 2, dtype=torch.float64), nn.Softmax(dim=-1))
    x = torch.rand(2, 3, 2, dtype=torch.float64) * 2 - 1
    t = torch.tensor([[0.2, 0.8], [0.6, 0.4]], dtype=torch.float64)
    assert stepgrad.compare_with_torch(model, x, t, loss="cross_entropy", lr=0.5).agrees()
    mha = nn.MultiheadAttention(2, 1, bias=False, batch_first=True, dtype=torch.float64)
    wrapped = nn.Sequential(multihead_module()(mha, causal=True, output="last"), nn.Linear(2, 1, dtype=torch.float64))
    assert stepgrad.compare_with_torch(wrapped, x, torch.rand(2, 1, dtype=torch.float64), lr=0.5).agrees()


@pytest.mark.parametrize("mode", ["training", "evaluation"])
def test_batchnorm1d_in_both_modes_with_its_running_statistics(mode: str) -> None:
    torch.manual_seed(4)
    bn = nn.BatchNorm1d(3, momentum=0.3, dtype=torch.float64)
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([0.1, -0.2, 0.3]))
        bn.running_var.copy_(torch.tensor([0.5, 1.5, 2.0]))
        bn.weight.copy_(torch.tensor([1.2, 0.7, -0.9]))
    bn.train(mode == "training")
    model = nn.Sequential(nn.Linear(2, 3, dtype=torch.float64), nn.Sigmoid(), bn, nn.Linear(3, 2, dtype=torch.float64))
    x, t = torch.rand(4, 2, dtype=torch.float64), torch.rand(4, 2, dtype=torch.float64)
    net = stepgrad.from_torch(model, input_shape=(2,))
    assert net.layers[1].mode == mode
    result = stepgrad.compare_with_torch(model, x, t, lr=0.2)
    assert result.agrees(), str(result)
    running = [p for p in result.parameters if p.status == "running"]
    assert [p.parameter for p in running] == ["2.running_mean", "2.running_var"]
    assert "running statistic" in str(result)


def test_layernorm_without_affine_reads_as_affine_false() -> None:
    model = nn.Sequential(nn.Linear(3, 4, dtype=torch.float64), nn.Tanh(),
                          nn.LayerNorm(4, eps=1e-3, elementwise_affine=False, dtype=torch.float64))
    net = stepgrad.from_torch(model, input_shape=(3,))
    assert net.layers[1].params == {} and net.layers[1].eps == 1e-3
    x, t = torch.rand(2, 3, dtype=torch.float64), torch.rand(2, 4, dtype=torch.float64)
    assert stepgrad.compare_with_torch(model, x, t, lr=0.1).agrees()


def _rnn(**kw):
    return nn.Sequential(recurrent_module()(nn.RNN(2, 2, batch_first=True, **kw)))


@pytest.mark.filterwarnings("ignore:dropout option adds dropout after all but last recurrent layer")
@pytest.mark.parametrize(("module", "message"), [
    (lambda: _rnn(num_layers=2), "num_layers=2"),
    (lambda: _rnn(bidirectional=True), "bidirectional=True"),
    (lambda: _rnn(dropout=0.5), "dropout=0.5"),
    (lambda: _rnn(), "bias_ih_l0 and bias_hh_l0 both train"),
    (lambda: nn.Sequential(nn.RNN(2, 2, batch_first=True)), "wrap it in stepgrad's recurrent_module"),
    (lambda: nn.MultiheadAttention(2, 2), "num_heads=2"),
    (lambda: nn.MultiheadAttention(2, 1, dropout=0.1), "dropout=0.1"),
    (lambda: nn.MultiheadAttention(2, 1, add_bias_kv=True), "add_bias_kv=True"),
    (lambda: nn.MultiheadAttention(2, 1, add_zero_attn=True), "add_zero_attn=True"),
    (lambda: nn.MultiheadAttention(2, 1, kdim=3), "kdim=3"),
    (lambda: nn.Sequential(multihead_module()(nn.MultiheadAttention(2, 2))), "num_heads=2"),
    (lambda: nn.Sequential(nn.Linear(2, 2), nn.LayerNorm((1, 2))), r"normalized_shape=\(1, 2\)"),
    (lambda: nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2, bias=False)), "bias=False"),
    (lambda: nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2, momentum=None)), "momentum=None"),
])
def test_what_does_not_map_is_refused_in_one_line(module, message) -> None:
    with pytest.raises(StepgradError, match=message) as info:
        stepgrad.from_torch(module(), input_shape=(3, 2))
    assert "\n" not in str(info.value)


def test_a_frozen_weight_or_half_frozen_biases_are_refused_before_comparing() -> None:
    model = nn.Sequential(nn.Linear(2, 2, dtype=torch.float64), nn.LayerNorm(2, dtype=torch.float64))
    model[1].weight.requires_grad_(False)
    x = torch.rand(2, 2, dtype=torch.float64)
    with pytest.raises(StepgradError, match="1.weight does not require gradients"):
        stepgrad.compare_with_torch(model, x, x)
    model[1].weight.requires_grad_(True)
    model[0].bias.requires_grad_(False)
    with pytest.raises(StepgradError, match=r"some biases train and others \(0.bias\) do not"):
        stepgrad.compare_with_torch(nn.Sequential(*model, nn.Linear(2, 2, dtype=torch.float64)), x, x)


@pytest.mark.parametrize(("table", "message"), [
    ({"type": "layernorm", "variance": "unbiased"}, "variance = \"unbiased\" has no PyTorch counterpart"),
    ({"type": "attention", "key_size": 1}, "nn.MultiheadAttention scales the scores and keeps every size"),
    ({"type": "attention", "scale": False}, "and no scale"),
])
def test_to_torch_refuses_what_no_torch_module_computes(table, message) -> None:
    net = LayerNetwork.from_dict({"layers": [{"type": "sequence", "steps": 3, "features": 2}, table],
                                  "step_reduction": "sum"})
    with pytest.raises(StepgradError, match=message) as info:
        stepgrad.to_torch(net, attention="multihead")
    assert "\n" not in str(info.value)


def test_explain_torch_on_hand_written_sequence_modules_is_autograd_step_by_step() -> None:
    torch.manual_seed(5)
    rnn = nn.RNN(2, 2, dtype=torch.float64)  # time-major, both biases: one frozen (their sum is stepgrad's b)
    rnn.bias_hh_l0.requires_grad_(False)
    mha = nn.MultiheadAttention(2, 1, batch_first=True, dtype=torch.float64)
    model = nn.Sequential(recurrent_module()(rnn, None, "sequence"), nn.LayerNorm(2, dtype=torch.float64),
                          multihead_module()(mha, causal=True, output="last"), nn.Linear(2, 1, dtype=torch.float64),
                          nn.Sigmoid())
    x, t = torch.rand(2, 3, 2, dtype=torch.float64), torch.rand(2, 1, dtype=torch.float64)
    trace = stepgrad.explain_torch(model, x, t, loss="half_squared_error", lr=0.1)
    loss = (0.5 * (model(x) - t) ** 2).sum(dim=1).mean()  # stepgrad's half squared error, mean over samples
    loss.backward()
    assert trace.values["E_total"] == pytest.approx(loss.item(), rel=1e-12)
    assert trace.values["dE_total/dWh1[2,1]"] == pytest.approx(rnn.weight_hh_l0.grad[1, 0].item(), rel=1e-9)
    assert trace.values["dE_total/dbh1[1]"] == pytest.approx(rnn.bias_ih_l0.grad[0].item(), rel=1e-9)
    assert trace.values["dE_total/dWk1[2,1]"] == pytest.approx(mha.in_proj_weight.grad[3, 0].item(), rel=1e-9)
    assert trace.values["dE_total/dgamma_n1[2]"] == pytest.approx(model[1].weight.grad[1].item(), rel=1e-9)
    assert "a_a1[3,2][1]" in trace.values and "a_a1[1,2][1]" not in trace.values  # causal: no key after query 1


def test_explain_torch_of_truncated_bptt_names_its_sums_as_sums() -> None:
    net = LayerNetwork.from_dict(random_rnn_spec(5, truncate=True, samples=2))
    model = stepgrad.to_torch(net)
    trace = stepgrad.explain_torch(model, net.inputs, net.targets, loss=net.loss, lr=net.learning_rate,
                                   step_reduction=net.step_reduction)  # held to torch's detached BPTT(k) first
    k = rnn_layer(net).truncate
    assert f"bptt{k}_Wh1[1,1]" in trace.values and "dE_total/dWh1[1,1]" not in trace.values
