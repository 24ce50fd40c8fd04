"""compare_with_torch for layer-table modules (conv, pooling, residual, rnn, attention, normalization).

    >>> net = stepgrad.LayerNetwork.from_dict({"layers": [{"type": "sequence", "steps": 3, "features": 2},
    ...     {"type": "rnn", "hidden": 2, "output": "sequence"}, {"type": "dense", "neurons": 1}],
    ...     "step_reduction": "mean", "samples": [{"inputs": [[0.1, 0.2], [0.3, -0.1], [0.0, 0.5]],
    ...                                            "targets": [0.2, 0.4, 0.6]}]})
    >>> model = stepgrad.to_torch(net)
    >>> result = stepgrad.compare_with_torch(model, net.inputs, net.targets, lr=0.5, step_reduction="mean")
    >>> result.agrees(), [p.parameter for p in result.parameters][:3]
    (True, ['0.rnn.weight_ih_l0', '0.rnn.weight_hh_l0', '0.rnn.bias_ih_l0'])

PyTorch runs the module's own forward() on a float64 copy, autograd and a torch.optim.SGD step over
the parameters that require gradients; stepgrad reads the module (interop/layers.py) and takes one
step with its engine. Every parameter is compared by its torch name: gradient and new value; nn.RNN's
two biases against stepgrad's one (their sum: the gradient of each is dE_total/db, and b+ is the
sum after the step); an nn.MultiheadAttention's in_proj_weight against [Wq; Wk; Wv]. A BatchNorm1d's
running_mean and running_var after the forward pass are compared with stepgrad's running_mean+ and
running_var+ (num_batches_tracked counts passes, which stepgrad does not: left out). The loss is
stepgrad's written in torch (comparison.torch_sample_losses), times 1/steps for step_reduction = "mean".
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from stepgrad.core import names
from stepgrad.core.errors import StepgradError
from stepgrad.core.layers import engine
from stepgrad.core.layers.base import Layer
from stepgrad.core.layers.conv import Conv
from stepgrad.core.layers.dense import Dense
from stepgrad.core.layers.norm import BatchNorm
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.trace import Trace
from stepgrad.interop.comparison import Comparison, ParameterDiff, _diff, torch_sample_losses
from stepgrad.interop.layers import LAYER_MODULES, from_torch_layers
from stepgrad.interop.reading import torch_module
from stepgrad.interop.sequences import NORM_MODULES, SEQUENCE_MODULES, Link, is_sequence_module, links


def owners(module: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(torch name prefix, module) of each module that is one stepgrad layer, in the order of net.all_layers()."""
    nn = torch_module().nn
    if not prefix and is_sequence_module(module):
        return [("", module)]
    found: list[tuple[str, Any]] = []
    layer_kinds = LAYER_MODULES + SEQUENCE_MODULES + NORM_MODULES + ("Linear", "Flatten")
    for name, m in module._modules.items():
        if m is None or type(m) is nn.Identity or type(m).__name__ not in layer_kinds:
            continue  # an activation: part of the layer before it
        here = f"{prefix}.{name}" if prefix else name
        if type(m).__name__ == "Residual":
            found += owners(m.block, f"{here}.block")
        found.append((here, m))
    return found


def _links(m: Any, layer: Layer, prefix: str) -> list[Link]:
    dot = f"{prefix}." if prefix else ""
    if isinstance(layer, (Conv, Dense)):
        role = "kernel" if isinstance(layer, Conv) else "weight"
        found: list[Link] = [(f"{dot}weight", (role,), None)]
        return found + ([(f"{dot}bias", ("bias",), None)] if "bias" in layer.params else [])
    return links(m, layer, prefix) if layer.params else []


def with_torch_names(net: LayerNetwork, module: Any) -> LayerNetwork:
    """`net` (read from `module`) with a `[torch]` table naming its parameters as torch does, so that every
    explanation of it says them (core/layers/torch_record.py, tracing/torch_layer_names.py)."""
    from stepgrad.core.layers.torch_record import table

    modules = owners(module)
    if len(modules) != len(net.all_layers()):
        return net  # not read layer by layer: no names rather than wrong ones
    pairs = [(layer, _links(m, layer, prefix)) for layer, (prefix, m) in zip(net.all_layers(), modules)]
    if not any(found for _, found in pairs):
        return net
    return LayerNetwork.from_dict(dict(net.spec, torch=table(type(module).__name__, pairs)),
                                  f"<{type(module).__name__}>")


def _flip(layer: Layer, role: str, a: np.ndarray) -> np.ndarray:
    """A conv kernel as PyTorch holds it (turned 180 degrees for true convolution)."""
    if isinstance(layer, Conv) and role == "kernel" and layer.flipped:
        return np.flip(a, axis=(-1,) if layer.one_d else (-2, -1))
    return a


def _update_biases(module: Any, pairs: list[tuple[Layer, list[Link]]]) -> bool:
    """Whether the biases train (stepgrad trains all of them or none); a frozen weight is refused."""
    params = dict(module.named_parameters())
    trains: dict[str, bool] = {}
    for _, found in pairs:
        for name, roles, partner in found:
            p = params[name]
            if roles == ("bias",):
                key = min(name, partner or name)  # nn.RNN's two biases are one: it trains when either does
                trains[key] = trains.get(key, False) or p.requires_grad
            elif not p.requires_grad:
                raise StepgradError(f"{name} does not require gradients, but stepgrad trains every weight, "
                                    f"scale and shift", where=type(module).__name__)
    if len(set(trains.values())) > 1:
        frozen = sorted(name for name, t in trains.items() if not t)
        raise StepgradError(f"some biases train and others ({frozen[0]}) do not: stepgrad trains every bias or none",
                            where=type(module).__name__)
    return all(trains.values())


def _call(model: Any, x: Any) -> Any:
    """The model's output for a (samples, ...) batch; a bare nn.RNN or nn.MultiheadAttention as self-attention."""
    nn = torch_module().nn
    if type(model) in (nn.RNN, nn.MultiheadAttention):
        y = x if model.batch_first else x.transpose(0, 1)
        out = model(y)[0] if type(model) is nn.RNN else model(y, y, y, need_weights=False)[0]
        return out if model.batch_first else out.transpose(0, 1)
    return model(x)


def _logits_and_output(model: Any, net: LayerNetwork, x: Any) -> tuple[Any, Any]:
    """(the last layer's net, its out), each flattened per sample, from the model's own forward()."""
    nn = torch_module().nn
    last = net.layers[-1]
    if last.has_activation and last.activation != "linear":
        if not isinstance(model, nn.Sequential):
            raise StepgradError("expected an nn.Sequential ending in its activation", where=type(model).__name__)
        logits = model[:-1](x)
        return logits.flatten(1), model[-1](logits).flatten(1)
    out = _call(model, x).flatten(1)
    return out, out


def read_step(module: Any, inputs: Any, targets: Any, loss: str = "half_squared_error", lr: float = 0.5, *,
              step_reduction: str | None = None, convolution: str = "cross_correlation"
              ) -> tuple[LayerNetwork, list[tuple[Layer, list[Link]]], list[tuple[str, Any]]]:
    """The network of one training step of a layer-table module on (inputs, targets), its biases training as
    the module's do; with each layer's torch parameters (links) and modules (owners)."""
    xs = np.asarray(inputs.detach().cpu().double().numpy() if hasattr(inputs, "detach") else inputs, dtype=np.float64)
    net = from_torch_layers(module, input_shape=_shape(module, xs), loss=loss, learning_rate=lr, inputs=inputs,
                            targets=targets, name=type(module).__name__, step_reduction=step_reduction,
                            convolution=convolution)
    pairs_of = owners(module)
    layers = net.all_layers()
    if len(pairs_of) != len(layers):
        raise StepgradError(f"read {len(layers)} layers from {len(pairs_of)} modules", where=type(module).__name__)
    pairs = [(layer, _links(m, layer, prefix)) for layer, (prefix, m) in zip(layers, pairs_of)]
    net.update_biases = _update_biases(module, pairs)
    return net, pairs, pairs_of


def compare_torch_layers(module: Any, inputs: Any, targets: Any, loss: str = "half_squared_error", lr: float = 0.5,
                         *, step_reduction: str | None = None) -> Comparison:
    """A compare.Comparison of one SGD step of a layer-table module in PyTorch (autograd and optim.SGD on a
    float64 copy) and in stepgrad; every parameter (and batchnorm running statistic) compared by its torch name."""
    torch = torch_module()
    net, pairs, pairs_of = read_step(module, inputs, targets, loss, lr, step_reduction=step_reduction)
    assert net.inputs is not None and net.targets is not None
    rec = engine.step(net, net.inputs, net.targets)

    model = copy.deepcopy(module).to(device="cpu", dtype=torch.float64)
    before = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr)
    optimizer.zero_grad()
    logits, output = _logits_and_output(model, net, torch.as_tensor(net.inputs, dtype=torch.float64))
    per_sample = torch_sample_losses(net.loss, net.layers[-1].activation, logits, output,
                                     torch.as_tensor(net.targets, dtype=torch.float64)) * net.loss_scale
    batch_loss = per_sample.sum() if net.reduction == "sum" else per_sample.mean()
    batch_loss.backward()
    grads = {name: p.grad.detach().numpy().copy() for name, p in model.named_parameters() if p.grad is not None}
    optimizer.step()
    after = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}

    ours: dict[str, tuple[Layer, tuple[str, ...], str | None]] = {
        name: (layer, roles, partner) for layer, found in pairs for name, roles, partner in found}
    diffs, uncompared = [], []
    for name in after:
        if name not in ours:
            if name in grads or not np.array_equal(before[name], after[name]):
                uncompared.append(f"{name}: torch trains it, but it is not a parameter of any layer stepgrad read")
            else:
                diffs.append(ParameterDiff(name, (), 0.0, 0.0, 0.0, 0.0, "unused"))
            continue
        layer, roles, partner = ours[name]
        trains = roles != ("bias",) or net.update_biases
        entry_names = tuple(layer.parameter_name(role, tuple(i + 1 for i in index))
                            for role in roles for index in np.ndindex(*layer.params[role].shape))
        new = np.concatenate([_flip(layer, r, rec.new_params[(layer.label, r)]) for r in roles])
        if partner is not None:  # stepgrad's b+ is bias_ih_l0 + bias_hh_l0 after the step
            new = new - after[partner]
        n_abs, n_rel = _diff(new, after[name])
        if name not in grads:
            if trains and (partner is None or partner not in grads):
                uncompared.append(f"{name}: stepgrad trains it, torch computed no gradient")
            else:
                diffs.append(ParameterDiff(name, entry_names, 0.0, 0.0, n_abs, n_rel, "fixed"))
            continue
        if not trains:
            uncompared.append(f"{name}: torch computes its gradient, stepgrad keeps it fixed")
            continue
        ours_grad = np.concatenate([_flip(layer, r, rec.grads[(layer.label, r)]) for r in roles])
        g_abs, g_rel = _diff(ours_grad, grads[name])
        diffs.append(ParameterDiff(name, entry_names, g_abs, g_rel, n_abs, n_rel))
    diffs += _running(model, pairs, pairs_of, rec)
    loss_torch = float(batch_loss.detach())
    return Comparison(float(rec.forward.error), loss_torch if math.isfinite(loss_torch) else float("nan"),
                      tuple(diffs), tuple(uncompared), "float64", "float64")


def _running(model: Any, pairs: list[tuple[Layer, list[Link]]], pairs_of: list[tuple[str, Any]], rec: Any) -> list[ParameterDiff]:
    """A BatchNorm1d's running statistics after the forward pass, against stepgrad's running_mean+ and running_var+."""
    buffers = dict(model.named_buffers())
    found = []
    for (layer, _), (prefix, _) in zip(pairs, pairs_of):
        if not isinstance(layer, BatchNorm):
            continue
        new = layer.running_after(rec.forward.values[layer.label].cache)
        for which in ("running_mean", "running_var"):
            name = f"{prefix}.{which}" if prefix else which
            if name not in buffers:
                continue  # track_running_stats=False: torch keeps none
            theirs = buffers[name].detach().numpy()
            entry_names = tuple(names.norm_value(which, layer.label, (i + 1,), after=True) for i in range(len(theirs)))
            n_abs, n_rel = _diff(new[which], theirs)
            found.append(ParameterDiff(name, entry_names, 0.0, 0.0, n_abs, n_rel, "running"))
    return found


def _shape(module: Any, xs: np.ndarray) -> tuple[int, ...]:
    """One sample's shape, from the batch."""
    if xs.ndim < 2:
        raise StepgradError(f"expected a batch of samples (a row per sample), got the shape {xs.shape}",
                            where=type(module).__name__)
    return tuple(int(n) for n in xs.shape[1:])


def explain_torch_layers(module: Any, inputs: Any, targets: Any, *, input_shape: tuple[int, ...] | None = None,
                         loss: str = "half_squared_error", lr: float = 0.5, check: bool = True,
                         step_reduction: str | None = None) -> Trace:
    """The stepgrad trace of one SGD step of a layer-table nn.Sequential (conv, pooling, residual, rnn, attention,
    normalization) on (inputs, targets); with `check`, every parameter's gradient and new value is first held to
    PyTorch autograd and optim.SGD on the module itself (compare_layers.py, 1e-9 relative)."""
    from stepgrad.tracing.layered import explain_layers
    from stepgrad.tracing.torch_layer_names import held_biases, layer_torch_names, named

    given = np.asarray(inputs.detach().cpu().numpy() if hasattr(inputs, "detach") else inputs).shape[1:]
    if input_shape is not None and tuple(input_shape) != tuple(given):
        raise StepgradError(f"input_shape {tuple(input_shape)} is not the inputs' sample shape {tuple(given)}")
    net, pairs, _ = read_step(module, inputs, targets, loss, lr, step_reduction=step_reduction)
    names, ranges = layer_torch_names(pairs)  # each parameter as PyTorch indexes it (tracing/torch_layer_names.py)
    trace = named(explain_layers(net), type(module).__name__, names, ranges, held_biases(net, pairs))
    if check:
        comparison = compare_torch_layers(module, inputs, targets, loss, lr, step_reduction=step_reduction)
        if not comparison.agrees():
            raise StepgradError(f"stepgrad and autograd differ on this module (largest relative difference "
                                f"{comparison.max_rel:.2e}{'; ' + comparison.uncompared[0] if comparison.uncompared else ''})")
    return trace
