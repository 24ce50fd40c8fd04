"""A torch.optim optimizer as stepgrad's optimizer state: SGD, Adam, AdamW, RMSprop, Adagrad, NAdam, with their state.

    >>> import torch
    >>> model = stepgrad.to_torch(stepgrad.builtin())
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    >>> state, lr = read_optimizer(opt, [m for _, m in stepgrad.interop.convert.layers_of(model)[0]])
    >>> state.name, state.hyper["nesterov"], lr
    ('torch_sgd', 1.0, 0.1)

torch.optim.SGD becomes the registry's `torch_sgd` (mu = momentum, dampening, nesterov, decay =
weight_decay; its momentum buffers are the velocities v), Adam `torch_adam` (weight decay added to
the gradient), AdamW `adamw` (decoupled decay); Adam's exp_avg and exp_avg_sq are the moments m and
s, and its step count is t. RMSprop (with momentum and centered), Adagrad (lr_decay, initial_accumulator_value)
and NAdam (momentum_decay) become the registry entries of the same names (`stepgrad.core.optim_adaptive`).
The parameters come in stepgrad's order: every weight, then every bias. An option stepgrad does not model
(amsgrad, maximize, NAdam's decoupled_weight_decay) is refused by name. Several parameter groups (the
usual AdamW without decay on the biases, a per-layer lr) become each parameter's own settings
(`OptimizerState.settings`): what its group sets differently from the first group.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.core.errors import StepgradError
from stepgrad.core.optim import OptimizerState, get

_HYPER: dict[str, tuple[str, dict[str, Any]]] = {  # torch option -> stepgrad hyperparameter, per optimizer class
    "SGD": ("torch_sgd", {"momentum": "mu", "dampening": "dampening", "nesterov": "nesterov", "weight_decay": "decay"}),
    "Adam": ("torch_adam", {"betas": ("beta1", "beta2"), "eps": "epsilon", "weight_decay": "decay"}),
    "AdamW": ("adamw", {"betas": ("beta1", "beta2"), "eps": "epsilon", "weight_decay": "decay"}),
    "RMSprop": ("rmsprop", {"alpha": "alpha", "eps": "epsilon", "weight_decay": "decay", "momentum": "mu",
                            "centered": "centered"}),
    "Adagrad": ("adagrad", {"lr_decay": "lrdecay", "weight_decay": "decay", "initial_accumulator_value": "initial",
                            "eps": "epsilon"}),
    "NAdam": ("nadam", {"betas": ("beta1", "beta2"), "eps": "epsilon", "weight_decay": "decay",
                        "momentum_decay": "psi"}),
}
_SLOTS = {  # stepgrad's state slot -> torch.optim's state key, per registry optimizer
    "torch_sgd": {"v": "momentum_buffer"}, "torch_adam": {"m": "exp_avg", "s": "exp_avg_sq"},
    "adamw": {"m": "exp_avg", "s": "exp_avg_sq"},
    "rmsprop": {"s": "square_avg", "m": "grad_avg", "v": "momentum_buffer"}, "adagrad": {"s": "sum"},
    "nadam": {"m": "exp_avg", "s": "exp_avg_sq", "prod": "mu_product"},
}
_REFUSED = {"amsgrad": False, "maximize": False, "decoupled_weight_decay": False}


def read_optimizer(optimizer: Any, linears: list[Any]) -> tuple[OptimizerState, float]:
    """(stepgrad's OptimizerState, the learning rate) of a torch optimizer over these nn.Linear layers."""
    kind = type(optimizer).__name__
    if kind not in _HYPER:
        raise StepgradError(f"unsupported optimizer torch.optim.{kind}: stepgrad reads {', '.join(_HYPER)}",
                            where="optimizer")
    groups = optimizer.param_groups
    name, mapping = _HYPER[kind]
    if kind == "Adam" and groups[0].get("decoupled_weight_decay", False):
        name = "adamw"
    read = [_group(kind, name, mapping, g) for g in groups]
    hyper, lr = read[0]
    if name == "nadam":
        hyper["float32"] = float(_product_in_float32(optimizer))
    held = {id(p): k for k, g in enumerate(groups) for p in g["params"]}
    params = [m.weight for m in linears] + [m.bias for m in linears]
    trained = [p for p in params if p is not None and p.requires_grad]
    missing = [p for p in trained if id(p) not in held]
    if missing:
        raise StepgradError(f"the optimizer does not hold every trained parameter (one of shape {tuple(missing[0].shape)})",
                            where="optimizer")
    state = _with_state(optimizer, name, hyper, params, linears)
    if len(groups) > 1:  # torch's parameter groups: each parameter's own settings where its group differs
        state.settings = []
        for p in params:
            own_hyper, own_lr = read[held[id(p)]] if p is not None and id(p) in held else (hyper, lr)
            own = {key: value for key, value in own_hyper.items() if hyper.get(key) != value}
            state.settings.append({**({"lr": own_lr} if own_lr != lr else {}), **own})
    return state, lr


def torch_options(name: str, hyper: dict[str, float], keys: set[str]) -> dict[str, str]:
    """torch.optim's options (as Python source) that set stepgrad's hyperparameters `keys` of registry optimizer
    `name`, from `hyper`: {"weight_decay": "0.0"}, {"betas": "(0.9, 0.99)"} ..."""
    mapping = next(m for ours, m in _HYPER.values() if ours == name)
    options = {}
    for option, ours in mapping.items():
        if isinstance(ours, tuple):
            if keys & set(ours):
                options[option] = f"({', '.join(repr(hyper[k]) for k in ours)})"
        elif ours in keys:
            options[option] = str(bool(hyper[ours])) if option in ("nesterov", "centered") else repr(hyper[ours])
    missing = keys - {k for ours in mapping.values() for k in (ours if isinstance(ours, tuple) else (ours,))}
    if missing:
        raise StepgradError(f"no torch.optim option sets {name}'s {sorted(missing)[0]} for a parameter group",
                            where="--code")
    return options


_HARMLESS = {"params", "foreach", "capturable", "differentiable", "fused", "initial_lr", "lr"}


def _group(kind: str, name: str, mapping: dict[str, Any], group: dict[str, Any]) -> tuple[dict[str, float], float]:
    """(stepgrad's hyperparameters, the learning rate) of one parameter group; what stepgrad lacks refused."""
    if name == "adamw":  # decoupled decay is what adamw is (torch's AdamW is Adam with it on)
        group = {**group, "decoupled_weight_decay": False}
    for option, default in _REFUSED.items():
        if group.get(option, default) != default:
            raise StepgradError(f"torch.optim.{kind}({option}={group[option]}) is not supported", where="optimizer")
    unknown = sorted(set(group) - set(mapping) - set(_REFUSED) - _HARMLESS)
    if unknown:
        raise StepgradError(f"torch.optim.{kind}'s setting {unknown[0]!r} is not one stepgrad reads", where="optimizer")
    hyper: dict[str, float] = {}
    for option, ours in mapping.items():
        if isinstance(ours, tuple):
            hyper.update(zip(ours, (float(v) for v in group[option])))
        else:
            hyper[ours] = float(group[option])
    return hyper, float(group["lr"])


def _with_state(optimizer: Any, name: str, hyper: dict[str, float], params: list[Any],
                linears: list[Any]) -> OptimizerState:
    """The state after the optimizer's earlier steps (zero before its first)."""
    rule = get(name)

    def array(slot: str, p: Any, tensor: Any) -> np.ndarray:
        shape = tuple(p.shape) if p is not None else (0,)
        if tensor is None:  # before the first step (or a buffer torch keeps only with an option on)
            return np.full(shape, rule.initial(slot, hyper))
        return np.broadcast_to(tensor.detach().cpu().double().numpy(), shape).copy()  # mu_product: one number

    shapes = [m.weight for m in linears] + [m.bias if m.bias is not None else None for m in linears]
    slots_of = _SLOTS[name]
    # SGD without momentum keeps no state at all: such a parameter says nothing of the steps taken
    momentum = {id(p): g.get("momentum", 0) for g in optimizer.param_groups for p in g["params"]}
    slots: dict[str, list[np.ndarray]] = {}
    steps: set[int] = set()
    for slot, key in slots_of.items():
        values = []
        for k, p in enumerate(params):
            state = optimizer.state.get(p, {}) if p is not None else {}
            like = shapes[k] if shapes[k] is not None else linears[k - len(linears)].weight[:, 0]
            values.append(array(slot, like, state.get(key)))
            if p is not None and p.requires_grad and not (name == "torch_sgd" and momentum.get(id(p)) == 0):
                if "step" in state:
                    steps.add(int(state["step"]))
                elif state.get(key) is not None:
                    steps.add(1)  # SGD keeps no count: a momentum buffer means an earlier step
                else:
                    steps.add(0)
        slots[slot] = values
    if len(steps) > 1:
        raise StepgradError(f"the parameters have taken different numbers of steps ({sorted(steps)}): stepgrad "
                            "keeps one step count", where="optimizer")
    return OptimizerState(name, hyper, steps.pop() if steps else 0, slots)


def _product_in_float32(optimizer: Any) -> bool:
    """Whether torch's NAdam keeps its momentum product in float32: its dtype once stepped, else the default dtype
    it will be created in (torch's scalar dtype)."""
    import torch

    for state in optimizer.state.values():
        if "mu_product" in state:
            return bool(state["mu_product"].dtype == torch.float32)
    return torch.get_default_dtype() == torch.float32
