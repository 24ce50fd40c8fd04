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
biases that do not require gradients are not updated, as in PyTorch.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from stepgrad.core.names import gradient, layout, updated
from stepgrad.core.spec import Network
from stepgrad.core.trace import Trace
from stepgrad.core.training_state import TrainingState
from stepgrad.interop.convert import flatten, from_torch, layers_of, torch_module
from stepgrad.interop.losses import read_loss, read_targets
from stepgrad.interop.optimizers import read_optimizer
from stepgrad.tracing.build import explain


def torch_loss(loss: str, activation: str, logits: Any, output: Any, targets: Any) -> Any:
    """stepgrad's batch loss written in torch: the mean over samples of each sample's loss.

    `logits` are the output layer's net values, `output` its activations (`activation` applied).
    """
    from stepgrad.core.functions import loss as loss_entry

    entry = loss_entry(loss)
    combined = entry.combination(activation)
    if combined is not None:  # e.g. nn.CrossEntropyLoss with probability targets, from the logits
        return combined.torch()(logits, targets).mean()
    if entry.torch is None:
        raise ValueError(f"no torch form of {loss} with {activation} outputs")
    return entry.torch()(output, targets).mean()


def _batch_loss(net: Network, model: Any, inputs: Any, targets: Any) -> Any:
    """stepgrad's loss (by name) of the model's output, written in torch (see `torch_loss`)."""
    logits, output = _logits_and_output(model, inputs)
    return torch_loss(net.loss, net.activations[-1], logits, output, targets)


def _logits_and_output(model: Any, inputs: Any) -> tuple[Any, Any]:
    """(the last nn.Linear's output, the model's output): the input and output of a final activation."""
    torch = torch_module()
    if isinstance(model, torch.nn.Sequential):
        modules = [m for _, m in flatten(model)]
        ends_in_activation = not isinstance(modules[-1], torch.nn.Linear)
        logits = inputs
        for m in modules[:-1] if ends_in_activation else modules:
            logits = m(logits)
        return logits, modules[-1](logits) if ends_in_activation else logits
    traced = torch.fx.symbolic_trace(model)
    interpreter = torch.fx.Interpreter(traced, garbage_collect_values=False)
    output = interpreter.run(inputs)
    last = next(n for n in traced.graph.nodes if n.op == "output").args[0]
    is_linear = last.op == "call_module" and isinstance(traced.get_submodule(last.target), torch.nn.Linear)
    return (output if is_linear else interpreter.env[last.args[0]]), output


@dataclass(frozen=True)
class TorchStep:
    """What explain_torch read: the network (samples, loss, reduction, optimizer state) and the optimizer's name."""

    network: Network
    optimizer: str | None


def read_step(module: Any, inputs: Any, targets: Any, loss: Any = "half_squared_error", lr: float = 0.5,
              loss_fn: Any = None, optimizer: Any = None) -> TorchStep:
    """The stepgrad network of one PyTorch training step: model, batch, loss (a name or an nn loss module), optimizer."""
    torch = torch_module()
    if isinstance(loss, torch.nn.Module):
        loss, loss_fn = "half_squared_error", loss
    linears, activations = layers_of(module)
    outputs = linears[-1][1].out_features
    reduction = "mean"
    if loss_fn is not None:
        read = read_loss(loss_fn, activations[-1], outputs, targets)
        loss, reduction, targets = read.loss, read.reduction, read.targets
    else:
        targets = read_targets(loss, activations[-1], outputs, targets)
    name = None
    if optimizer is not None:
        state, lr = read_optimizer(optimizer, [m for _, m in linears])
        name = state.name
    net = from_torch(module, loss=loss, learning_rate=lr, shared_biases=False, inputs=inputs, targets=targets,
                     name=type(module).__name__)
    net.reduction = reduction
    if optimizer is not None:
        net.training = replace(TrainingState.of(net), optimizer=state.to_dict())
    return TorchStep(net, name)


def explain_torch(module: Any, inputs: Any, targets: Any, loss: Any = "half_squared_error",
                  lr: float = 0.5, *, loss_fn: Any = None, optimizer: Any = None) -> Trace:
    """The stepgrad trace of one training step of `module` (an nn.Sequential, or an nn.Module torch.fx follows).

    loss_fn: a PyTorch loss module (nn.CrossEntropyLoss(label_smoothing=0.1), nn.MSELoss(reduction="sum")
    ...), read with its options; targets may then be class indices. optimizer: a torch.optim SGD, Adam
    or AdamW over the module's parameters, explained with its settings and its state so far (its lr
    is the learning rate). Without them: stepgrad's loss `loss` and one plain gradient-descent step.
    """
    step = read_step(module, inputs, targets, loss, lr, loss_fn, optimizer)
    return explain(step.network, update_order="synchronous", optimizer=step.optimizer)


@dataclass(frozen=True)
class ParameterDiff:
    """stepgrad vs autograd for one PyTorch parameter: largest differences of gradient and new value.

    Relative differences are |stepgrad - torch| / max(|torch|, 1e-6), largest over the tensor's entries.
    """

    parameter: str  # the state_dict name, e.g. "0.weight"
    names: tuple[str, ...]  # stepgrad's names of its entries (w1, w2, ...), row by row
    gradient_abs: float
    gradient_rel: float
    updated_abs: float
    updated_rel: float


@dataclass(frozen=True)
class Comparison:
    """The result of `compare_with_torch`: the losses and one ParameterDiff per trained parameter."""

    loss_stepgrad: float
    loss_torch: float
    parameters: tuple[ParameterDiff, ...]

    @property
    def max_rel(self) -> float:
        """Largest relative difference over every gradient and updated value."""
        return max((max(p.gradient_rel, p.updated_rel) for p in self.parameters), default=0.0)

    def agrees(self, tolerance: float = 1e-9) -> bool:
        """True when every relative difference (and the loss's) is within `tolerance`."""
        loss_rel = abs(self.loss_stepgrad - self.loss_torch) / max(abs(self.loss_torch), 1e-6)
        return self.max_rel <= tolerance and loss_rel <= tolerance

    def __str__(self) -> str:
        rows = [f"loss: stepgrad {self.loss_stepgrad!r}, torch {self.loss_torch!r}",
                f"{'parameter':<12} {'stepgrad names':<20} {'grad abs':>10} {'grad rel':>10} "
                f"{'new abs':>10} {'new rel':>10}"]
        for p in self.parameters:
            names = p.names[0] + (f"..{p.names[-1]}" if len(p.names) > 1 else "")
            rows.append(f"{p.parameter:<12} {names:<20} {p.gradient_abs:>10.2e} {p.gradient_rel:>10.2e} "
                        f"{p.updated_abs:>10.2e} {p.updated_rel:>10.2e}")
        rows.append(f"largest relative difference: {self.max_rel:.2e}"
                    f" ({'agrees' if self.agrees() else 'DISAGREES'} within 1e-9)")
        return "\n".join(rows)


def _diff(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    gap = np.abs(ours - theirs)
    return float(gap.max(initial=0.0)), float((gap / np.maximum(np.abs(theirs), 1e-6)).max(initial=0.0))


def compare_with_torch(module: Any, inputs: Any, targets: Any, loss: Any = "half_squared_error",
                       lr: float = 0.5, *, loss_fn: Any = None, optimizer: Any = None) -> Comparison:
    """Run the step in PyTorch (autograd and the optimizer's step, float64, on copies) and in stepgrad; compare.

    With loss_fn and optimizer (see explain_torch) PyTorch computes with them as given; otherwise with
    stepgrad's loss written in torch and torch.optim.SGD.
    """
    torch = torch_module()
    if isinstance(loss, torch.nn.Module):
        loss, loss_fn = "half_squared_error", loss
    step = read_step(module, inputs, targets, loss, lr, loss_fn, optimizer)
    net = step.network
    values = explain(net, update_order="synchronous", optimizer=step.optimizer).values

    model = copy.deepcopy(module).to(device="cpu", dtype=torch.float64)
    linears, _ = layers_of(model)
    x = torch.as_tensor(net.inputs, dtype=torch.float64)
    trained = [p for p in model.parameters() if p.requires_grad]
    torch_optimizer = _copied_optimizer(optimizer, module, model) if optimizer is not None else \
        torch.optim.SGD(trained, lr=lr)
    torch_optimizer.zero_grad()
    if loss_fn is not None:
        y = torch.as_tensor(targets)
        y = y if not y.is_floating_point() else y.to(torch.float64)
        batch_loss = copy.deepcopy(loss_fn).to(torch.float64)(model(x), y)
    else:
        batch_loss = _batch_loss(net, model, x, torch.as_tensor(net.targets, dtype=torch.float64))
    batch_loss.backward()
    grads = {id(p): p.grad.detach().numpy().copy() for p in trained if p.grad is not None}
    torch_optimizer.step()

    names = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
    diffs = []
    for l, (prefix, linear) in enumerate(linears):
        label = f"{prefix}." if prefix else ""
        entries = [(f"{label}weight", linear.weight, [w for row in names.weights[l] for w in row])]
        if linear.bias is not None and net.update_biases:
            entries.append((f"{label}bias", linear.bias, list(names.biases[l])))
        for parameter, tensor, entry_names in entries:
            if id(tensor) not in grads:
                continue
            shape = tuple(tensor.shape)
            ours_grad = np.array([values[gradient(n)] for n in entry_names]).reshape(shape)
            ours_new = np.array([values[updated(n)] for n in entry_names]).reshape(shape)
            g_abs, g_rel = _diff(ours_grad, grads[id(tensor)])
            n_abs, n_rel = _diff(ours_new, tensor.detach().numpy())
            diffs.append(ParameterDiff(parameter, tuple(entry_names), g_abs, g_rel, n_abs, n_rel))
    loss_stepgrad = values["E_total"]
    loss_torch = float(batch_loss.detach())
    if not math.isfinite(loss_torch):
        loss_torch = float("nan")
    return Comparison(loss_stepgrad, loss_torch, tuple(diffs))


def _copied_optimizer(optimizer: Any, module: Any, model: Any) -> Any:
    """The user's optimizer (settings and state) over the copied model's parameters."""
    copies = {id(p): q for p, q in zip(module.parameters(), model.parameters())}
    groups = [dict(g, params=[copies[id(p)] for p in g["params"]]) for g in optimizer.param_groups]
    twin = type(optimizer)(groups)
    twin.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    return twin
