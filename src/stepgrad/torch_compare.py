"""Explain a PyTorch model's gradient step, and check stepgrad's numbers against autograd.

    >>> model = stepgrad.to_torch(stepgrad.builtin())   # or any nn.Sequential of Linear and activations
    >>> trace = stepgrad.explain_torch(model, [[0.05, 0.1]], [[0.01, 0.99]], lr=0.5)
    >>> round(trace.values["dE_total/dw5"], 9)           # the chain rule, every factor named
    0.082167041
    >>> print(stepgrad.compare_with_torch(model, [[0.05, 0.1]], [[0.01, 0.99]], lr=0.5))
    loss: stepgrad 0.29837110876..., torch 0.29837110876...
    ...
    largest relative difference: ... (agrees within 1e-9)

The step is one plain gradient-descent step (torch.optim.SGD) on the batch, with stepgrad's
losses written in torch: the batch loss is the mean over samples of each sample's loss, summed
over outputs (see `torch_loss`). The model's own biases stay per-neuron (b_h1, b_o1 ...), and
biases that do not require gradients are not updated, as in PyTorch.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .explain import explain
from .names import gradient, layout, updated
from .spec import Network
from .torch_interop import flatten, from_torch, layers_of, torch_module
from .trace import Trace


def torch_loss(loss: str, activation: str, logits: Any, output: Any, targets: Any) -> Any:
    """stepgrad's batch loss written in torch: the mean over samples of each sample's loss.

    `logits` are the output layer's net values, `output` its activations (`activation` applied).
    """
    from .functions import loss as loss_entry

    entry = loss_entry(loss)
    combined = entry.combination(activation)
    if combined is not None:  # e.g. nn.CrossEntropyLoss with probability targets, from the logits
        return combined.torch()(logits, targets).mean()
    if entry.torch is None:
        raise ValueError(f"no torch form of {loss} with {activation} outputs")
    return entry.torch()(output, targets).mean()


def _batch_loss(net: Network, modules: list[Any], inputs: Any, targets: Any) -> Any:
    ends_in_activation = not isinstance(modules[-1], torch_module().nn.Linear)
    logits = inputs
    for m in modules[:-1] if ends_in_activation else modules:
        logits = m(logits)
    output = modules[-1](logits) if ends_in_activation else logits
    return torch_loss(net.loss, net.activations[-1], logits, output, targets)


def _network(module: Any, inputs: Any, targets: Any, loss: str, lr: float) -> Network:
    return from_torch(module, loss=loss, learning_rate=lr, shared_biases=False, inputs=inputs,
                      targets=targets, name=type(module).__name__)


def explain_torch(module: Any, inputs: Any, targets: Any, loss: str = "half_squared_error",
                  lr: float = 0.5) -> Trace:
    """The stepgrad trace of one gradient-descent step of `module` (an nn.Sequential) on the batch."""
    return explain(_network(module, inputs, targets, loss, lr), update_order="synchronous")


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


def compare_with_torch(module: Any, inputs: Any, targets: Any, loss: str = "half_squared_error",
                       lr: float = 0.5) -> Comparison:
    """Run the step in PyTorch (autograd + torch.optim.SGD, float64, on a copy) and in stepgrad; compare."""
    torch = torch_module()
    net = _network(module, inputs, targets, loss, lr)
    trace = explain(net, update_order="synchronous")
    values = trace.values

    model = copy.deepcopy(module).to(device="cpu", dtype=torch.float64)
    modules = [m for _, m in flatten(model)]
    linears, _ = layers_of(model)
    x = torch.as_tensor(net.inputs, dtype=torch.float64)
    t = torch.as_tensor(net.targets, dtype=torch.float64)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trained, lr=lr)
    optimizer.zero_grad()
    batch_loss = _batch_loss(net, modules, x, t)
    batch_loss.backward()
    grads = {id(p): p.grad.detach().numpy().copy() for p in trained if p.grad is not None}
    optimizer.step()

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
