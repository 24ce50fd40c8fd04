"""Explain a PyTorch model's gradient step, and check stepgrad's numbers against autograd.

    >>> model = stepgrad.to_torch(stepgrad.builtin())   # or any nn.Sequential of Linear and activations
    >>> trace = stepgrad.explain_torch(model, [[0.05, 0.1]], [[0.01, 0.99]], lr=0.5)
    >>> round(trace.values["dE_total/dw5"], 9)           # the chain rule, every factor named
    0.082167041
    >>> print(stepgrad.compare_with_torch(model, [[0.05, 0.1]], [[0.01, 0.99]], lr=0.5))
    loss: stepgrad 0.29837110876..., torch 0.29837110876...
    ...
    largest relative difference: ... (agrees within 1e-9)

As PyTorch users write it, pass the loss module and the optimizer: `loss_fn=nn.CrossEntropyLoss()`
(read with its options by torch_losses; targets may be class indices) and `optimizer=opt` (a
torch.optim SGD, Adam or AdamW, read with its state by torch_optim); compare_with_torch then runs
exactly those on copies. Without them the step is one plain gradient-descent step (torch.optim.SGD)
with stepgrad's loss `loss` written in torch: the mean over samples of each sample's loss, summed
over outputs (see `torch_loss`). The model's own biases stay per-neuron (b_h1, b_o1 ...), and
weights and biases that do not require gradients are held fixed, as in PyTorch; what stepgrad cannot explain
exactly (shared layers, hooks ...) is refused by reading.py before any work.
compare_with_torch compares every parameter of the model by its torch name (trained, fixed, or
unused by forward()); one it cannot account for is listed, and then it never "agrees". The
explanation names every weight as torch does too (tracing/torch_names.py).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from stepgrad.core.budget import CLI_WORK, Budget
from stepgrad.core.errors import StepgradError
from stepgrad.core.names import gradient, layout, updated
from stepgrad.core.spec import Network
from stepgrad.core.trace import Trace
from stepgrad.core.training_state import TrainingState
from stepgrad.interop.comparison import Comparison, ParameterDiff, _diff, torch_loss
from stepgrad.interop.convert import _array, build_network, from_torch, layers_of, torch_module
from stepgrad.interop.frozen import features, frozen_prefix
from stepgrad.interop.frozen import note as frozen_note
from stepgrad.interop.losses import is_nll, read_loss, read_targets
from stepgrad.interop.optimizers import read_optimizer
from stepgrad.interop.reading import trainable_of
from stepgrad.tracing.build import explain
from stepgrad.tracing.torch_names import TorchModel, annotate


def _batch_loss(net: Network, model: Any, inputs: Any, targets: Any) -> Any:
    """stepgrad's loss (by name) of the model's output, written in torch (see `torch_loss`)."""
    logits, output = _logits_and_output(model, inputs)
    return torch_loss(net.loss, net.activations[-1], logits, output, targets)


def _logits_and_output(model: Any, inputs: Any) -> tuple[Any, Any]:
    """(the last nn.Linear's output, the model's output), from the model's own forward()."""
    linears, _ = layers_of(model)
    captured: list[Any] = []
    # clone: an in-place activation after the last Linear would overwrite what it returned
    handle = linears[-1][1].register_forward_hook(lambda module, args, out: captured.append(out.clone()))
    try:
        output = model(inputs)
    finally:
        handle.remove()
    return captured[-1], output


@dataclass(frozen=True)
class TorchStep:
    """What explain_torch read: the network (samples, loss, reduction, optimizer state) and the optimizer's name."""

    network: Network
    optimizer: str | None
    model: TorchModel
    inputs: Any = None  # the batch as given to the model (the network's inputs are the frozen layers' outputs)
    frozen: int = 0  # how many first nn.Linear layers are frozen whole and read as fixed (interop/frozen.py)


def read_step(module: Any, inputs: Any, targets: Any, loss: Any = "half_squared_error", lr: float = 0.5,
              loss_fn: Any = None, optimizer: Any = None) -> TorchStep:
    """The stepgrad network of one PyTorch training step: model, batch, loss (a name or an nn loss module), optimizer."""
    torch = torch_module()
    if isinstance(loss, torch.nn.Module):
        loss, loss_fn = "half_squared_error", loss
    nll = is_nll(loss_fn)
    linears, activations = layers_of(module, log_softmax=nll)
    outputs = linears[-1][1].out_features
    reduction, applies = "mean", None
    if loss_fn is not None:
        read = read_loss(loss_fn, activations[-1], outputs, targets)
        loss, reduction, targets, applies = read.loss, read.reduction, read.targets, read.applies
    else:
        targets = read_targets(loss, activations[-1], outputs, targets)
    name = None
    skip = frozen_prefix(module, linears)  # frozen first layers: their outputs are the inputs (interop/frozen.py)
    if optimizer is not None:
        state, lr = read_optimizer(optimizer, [m for _, m in linears[skip:]])
        name = state.name
    settings: dict[str, Any] = {"loss": "binary_cross_entropy_with_logits" if applies else loss, "learning_rate": lr,
                                "shared_biases": False, "targets": targets, "name": type(module).__name__}
    if skip:
        trained = linears[skip:]
        net = build_network([_array(m.weight, f"{n}.weight") for n, m in trained],
                            [None if m.bias is None else _array(m.bias, f"{n}.bias") for n, m in trained],
                            activations[skip:], source=f"<{type(module).__name__}>",
                            trainable=trainable_of(trained), inputs=features(linears, activations, skip, inputs),
                            **settings)
    else:
        net = from_torch(module, inputs=inputs, log_softmax=nll, **settings)
    if applies:  # the loss's own activation (nn.BCEWithLogitsLoss's sigmoid) shown as the output layer's
        net.loss, net.activations[-1] = loss, applies
    net.extra.pop("torch", None)  # the trace is annotated from the module itself (its dtype, which biases train)
    net.reduction = reduction
    if optimizer is not None:
        net.training = replace(TrainingState.of(net), optimizer=state.to_dict())
    model = TorchModel.read(module, linears[skip:])
    neurons = layout(net.layers, [False] * net.depth).neurons
    notes = [frozen_note(linears, activations, skip, neurons[0])] if skip else []
    if applies:
        notes.append(f"nn.{type(loss_fn).__name__} applies the {applies} itself: the output layer's {applies} here "
                     f"is the loss's; the model's outputs are the raw scores net_{neurons[-1][0]}..net_{neurons[-1][-1]}.")
    return TorchStep(net, name, replace(model, notes=tuple(notes)), inputs, skip)


def _budget(max_work: float | None) -> Budget:
    """The API's work budget: the command line's unless `max_work` is given."""
    return Budget(CLI_WORK if max_work is None else max_work, "max_work")


def explain_torch(module: Any, inputs: Any, targets: Any, loss: Any = "half_squared_error",
                  lr: float = 0.5, *, loss_fn: Any = None, optimizer: Any = None, only: str | None = None,
                  max_work: float | None = None, dtype: str = "float64", step_reduction: str | None = None) -> Trace:
    """The stepgrad trace of one training step of `module` (an nn.Sequential, or an nn.Module torch.fx follows).

    loss_fn: a PyTorch loss module (nn.CrossEntropyLoss(label_smoothing=0.1), nn.MSELoss(reduction="sum")
    ...), read with its options; targets may then be class indices. optimizer: a torch.optim SGD, Adam
    or AdamW over the module's parameters, explained with its settings and its state so far (its lr
    is the learning rate). Without them: stepgrad's loss `loss` and one plain gradient-descent step.
    Each weight and bias is named as PyTorch names it too (see tracing.torch_names). only: the quantities
    to keep ("w5, h1", the rule of `stepgrad explain --only`). max_work: the work budget in multiply-adds
    (default: the command line's); a step over it is refused before any work. dtype="float32": the step
    computed in float32, as PyTorch computes a float32 model (default: float64, exact to the last digit shown).
    A module with convolution, pooling, residual, rnn, attention or normalization layers is explained by
    interop/compare_layers.py (SGD and a loss name only, float64; its step held to autograd first;
    step_reduction "sum" or "mean" for a sequence output).
    """
    from stepgrad.interop.compare_layers import explain_torch_layers
    from stepgrad.interop.layers import has_layer_modules

    if has_layer_modules(module):
        if loss_fn is not None or optimizer is not None or not isinstance(loss, str) or dtype != "float64":
            raise StepgradError("for a module with layers beyond nn.Linear, give the loss by name (plain SGD, float64): "
                                "loss_fn, optimizer and dtype are not read for these yet", where="explain_torch")
        trace = explain_torch_layers(module, inputs, targets, loss=loss, lr=lr, step_reduction=step_reduction)
        return trace.select(only.replace(" ", "").split(",")) if only else trace
    step = read_step(module, inputs, targets, loss, lr, loss_fn, optimizer)
    _budget(max_work).check_trace(step.network)
    trace = explain(step.network, update_order="synchronous", optimizer=step.optimizer, dtype=dtype)
    trace = annotate(trace, step.network, step.model)
    if only:
        from stepgrad.tracing.only import resolve_only

        trace = trace.select(resolve_only(trace, only))
    return trace


def compare_with_torch(module: Any, inputs: Any, targets: Any, loss: Any = "half_squared_error",
                       lr: float = 0.5, *, loss_fn: Any = None, optimizer: Any = None,
                       max_work: float | None = None, dtype: str = "float64",
                       step_reduction: str | None = None) -> Comparison:
    """Run the step in PyTorch (autograd and the optimizer's step, float64, on copies) and in stepgrad; compare.

    With loss_fn and optimizer (see explain_torch) PyTorch computes with them as given; otherwise with
    stepgrad's loss written in torch and torch.optim.SGD. Every parameter of the model is compared by
    its name; one that cannot be is listed in `uncompared`, and the comparison does not agree.
    max_work: as explain_torch's. dtype="float32": both sides compute in float32 (torch on a float32 copy), so
    the differences are float32's rounding (about 1e-7 relative), not stepgrad's. A module with convolution,
    pooling, residual, rnn, attention or normalization layers is compared by interop/compare_layers.py (a loss
    name and SGD, float64; step_reduction "sum" or "mean" for a sequence output).
    """
    from stepgrad.interop.layers import has_layer_modules

    if has_layer_modules(module):
        if loss_fn is not None or optimizer is not None or not isinstance(loss, str) or dtype != "float64":
            raise StepgradError("for a module with layers beyond nn.Linear, give the loss by name (plain SGD, "
                                "float64): loss_fn, optimizer and dtype are not read for these yet",
                                where="compare_with_torch")
        from stepgrad.interop.compare_layers import compare_torch_layers

        return compare_torch_layers(module, inputs, targets, loss, lr, step_reduction=step_reduction)
    torch = torch_module()
    if isinstance(loss, torch.nn.Module):
        loss, loss_fn = "half_squared_error", loss
    step = read_step(module, inputs, targets, loss, lr, loss_fn, optimizer)
    net = step.network
    _budget(max_work).check_trace(net)
    values = explain(net, update_order="synchronous", optimizer=step.optimizer, dtype=dtype).values

    dt = torch.float32 if dtype == "float32" else torch.float64
    model = copy.deepcopy(module).to(device="cpu", dtype=dt)
    before = {name: p.detach().double().numpy().copy() for name, p in model.named_parameters()}
    given = step.inputs.detach().cpu().double().numpy() if hasattr(step.inputs, "detach") else step.inputs
    x = torch.as_tensor(np.atleast_2d(np.asarray(given, dtype=np.float64)), dtype=dt)
    trained = [p for p in model.parameters() if p.requires_grad]
    torch_optimizer = _copied_optimizer(optimizer, module, model) if optimizer is not None else \
        torch.optim.SGD(trained, lr=lr)
    torch_optimizer.zero_grad()
    if loss_fn is not None:
        y = torch.as_tensor(targets)
        y = y if not y.is_floating_point() else y.to(dt)
        batch_loss = copy.deepcopy(loss_fn).to(dt)(model(x), y)
    else:
        batch_loss = _batch_loss(net, model, x, torch.as_tensor(net.targets, dtype=dt))
    batch_loss.backward()
    grads = {name: p.grad.detach().double().numpy().copy() for name, p in model.named_parameters()
             if p.grad is not None}
    torch_optimizer.step()
    after = {name: p.detach().double().numpy().copy() for name, p in model.named_parameters()}

    ours = _stepgrad_parameters(net, layers_of(model, log_softmax=is_nll(loss_fn))[0][step.frozen:])
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    diffs, uncompared = [], []
    for name in after:
        if name not in ours:
            if name in grads or not np.array_equal(before[name], after[name]):
                uncompared.append(f"{name}: torch trains it, but it is not a parameter of any layer stepgrad read")
            else:
                diffs.append(ParameterDiff(name, (), 0.0, 0.0, 0.0, 0.0, "fixed" if name in frozen else "unused"))
            continue
        entry_names, trains = ours[name]
        shape = after[name].shape
        new_names = [updated(n) if trains else n for n in entry_names]
        ours_new = np.array([values[n] for n in new_names]).reshape(shape)
        n_abs, n_rel = _diff(ours_new, after[name], dtype)
        if not trains:
            if name in grads:
                uncompared.append(f"{name}: torch computes its gradient, stepgrad keeps it fixed")
                continue
            diffs.append(ParameterDiff(name, tuple(entry_names), 0.0, 0.0, n_abs, n_rel, "fixed"))
            continue
        if name not in grads:
            uncompared.append(f"{name}: stepgrad trains it, torch computed no gradient")
            continue
        ours_grad = np.array([values[gradient(n)] for n in entry_names]).reshape(shape)
        g_abs, g_rel = _diff(ours_grad, grads[name], dtype)
        diffs.append(ParameterDiff(name, tuple(entry_names), g_abs, g_rel, n_abs, n_rel))
    loss_stepgrad = values["E_total"]
    loss_torch = float(batch_loss.detach())
    if not math.isfinite(loss_torch):
        loss_torch = float("nan")
    return Comparison(loss_stepgrad, loss_torch, tuple(diffs), tuple(uncompared), step.model.dtype, dtype)


def _stepgrad_parameters(net: Network, linears: list[tuple[str, Any]]) -> dict[str, tuple[list[str], bool]]:
    """torch parameter name -> (stepgrad's names of its entries, row by row; whether stepgrad trains it)."""
    names = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
    trains = net.trains()
    found: dict[str, tuple[list[str], bool]] = {}
    for l, (prefix, linear) in enumerate(linears):
        label = f"{prefix}." if prefix else ""
        found[f"{label}weight"] = ([w for row in names.weights[l] for w in row], trains[l])
        if linear.bias is not None:
            found[f"{label}bias"] = (list(names.biases[l]), trains[net.depth + l])
    return found


def _copied_optimizer(optimizer: Any, module: Any, model: Any) -> Any:
    """The user's optimizer (settings and state) over the copied model's parameters."""
    copies = {id(p): q for p, q in zip(module.parameters(), model.parameters())}
    groups = [dict(g, params=[copies[id(p)] for p in g["params"]]) for g in optimizer.param_groups]
    twin = type(optimizer)(groups)
    twin.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    for p, state in optimizer.state.items():  # load_state_dict casts NAdam's float32 mu_product: keep torch's own
        for key, value in state.items():
            if getattr(value, "dim", lambda: 1)() == 0 and id(p) in copies:
                twin.state[copies[id(p)]][key] = value.detach().clone()
    return twin
