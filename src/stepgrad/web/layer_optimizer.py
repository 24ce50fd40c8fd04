"""The optimizer of the Edit and train panel (maps and sequence pages): any registry optimizer, checked on the server.

The page's state (web/layer_state.py) may carry "optimizer": OptimizerState.to_dict() of core/optim.py (name,
hyperparameters, step count t, and its slots: momentum's velocity, Adam's moments ... one array per parameter in
core/layers/optimize.parameters order); none (or null) is plain gradient descent. Step and Train then take the
optimizer's steps (core/layers/optimize.optimize, the conventions of torch.optim), carrying its state from request
to request as torch.optim carries it from step to step.

    POST /api/layers/optimizer  {state, sample?, name, hyper?}  -> the page with that optimizer: the same optimizer
         keeps its state (t and slots; new hyperparameters apply from the next step, as a changed param_group does
         in torch), another one starts from zero.

Every hyperparameter is checked as torch.optim checks it (betas in [0, 1), eps, momentum and weight decay >= 0,
nesterov needs momentum and no dampening, flags 0 or 1) and named in one line when it is not.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from stepgrad.core import optim
from stepgrad.core.errors import StepgradError
from stepgrad.core.layers import engine
from stepgrad.core.layers.engine import LayerStep
from stepgrad.core.layers.optimize import fresh_state, optimize, parameters
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.web.inputs import ApiError

FLAGS = ("nesterov", "centered", "float32")
AT_LEAST_ZERO = ("mu", "decay", "epsilon", "alpha", "lrdecay", "initial", "psi")
BELOW_ONE = ("beta1", "beta2")


def registry() -> list[dict[str, Any]]:
    """Every optimizer the panel offers: name, title, its hyperparameters' defaults and what each is."""
    return [{"name": o.name, "title": o.title, "hyper": dict(o.hyper), "description": o.description,
             "notes": {key: optim.HYPER_NOTES.get(key, "") for key in o.hyper}}
            for o in optim.OPTIMIZERS.values()]


def state_from(net: LayerNetwork, state: dict[str, Any]) -> optim.OptimizerState | None:
    """The optimizer state the page's state carries for `net` (None: plain gradient descent); ApiError naming a bad
    value."""
    raw = state.get("optimizer")
    if raw is None:
        return None
    try:
        found = optim.OptimizerState.from_dict(raw, [layer.params[role] for layer, role in parameters(net)],
                                               where="state.optimizer")
    except StepgradError as exc:
        raise ApiError(422, exc.message if not exc.where else f"{exc.where}: {exc.message}", "state.optimizer") from None
    check_hyper(found.name, found.hyper, "state.optimizer.hyper")
    return found


def chosen(net: LayerNetwork, current: optim.OptimizerState | None, name: Any, hyper: Any) -> optim.OptimizerState:
    """Optimizer `name` with `hyper` (its other hyperparameters the registry's): the current one's state kept when it
    is the same optimizer, a zero state otherwise."""
    if not isinstance(name, str) or name not in optim.OPTIMIZERS:
        raise ApiError(422, f"'name' must be one of {', '.join(optim.OPTIMIZERS)}, got {str(name)[:40]!r}", "name")
    if hyper is None:
        hyper = {}
    if not isinstance(hyper, dict):
        raise ApiError(422, "'hyper' must be an object of hyperparameters, like {\"beta1\": 0.9}", "hyper")
    from stepgrad.web.layer_state import number_from

    defaults = optim.OPTIMIZERS[name].hyper
    values = dict(current.hyper) if current is not None and current.name == name else dict(defaults)
    for key, value in hyper.items():
        if key not in defaults:
            raise ApiError(422, f"{name} has no hyperparameter {str(key)[:40]!r} (it has: "
                                f"{', '.join(defaults) or 'none'})", f"hyper.{str(key)[:40]}")
        values[key] = number_from(value, f"hyper.{key}")
    check_hyper(name, values, "hyper")
    if current is not None and current.name == name:
        return replace(copy.deepcopy(current), hyper=values)
    return fresh_state(net, name, **values)


def check_hyper(name: str, hyper: dict[str, float], field: str) -> None:
    """torch.optim's own checks of the hyperparameters, the first one broken named in one line."""
    for key, value in hyper.items():
        where = f"{field}.{key}"
        if key in FLAGS and value not in (0.0, 1.0):
            raise ApiError(422, f"{name}'s {key} is a switch: 0 or 1, got {value:g}", where)
        if key in AT_LEAST_ZERO and value < 0:
            raise ApiError(422, f"{name}'s {key} ({optim.HYPER_NOTES.get(key, key)}) must be 0 or more, got {value:g}",
                           where)
        if key in BELOW_ONE and not 0 <= value < 1:
            raise ApiError(422, f"{name}'s {key} ({optim.HYPER_NOTES.get(key, key)}) must be in [0, 1), got {value:g}",
                           where)
    if hyper.get("nesterov") and (hyper.get("mu", 0) <= 0 or hyper.get("dampening", 0) != 0):
        raise ApiError(422, f"{name} with nesterov needs momentum mu > 0 and dampening 0 (as torch.optim.SGD)",
                       f"{field}.nesterov")


def moved(net: LayerNetwork, rec: LayerStep, state: optim.OptimizerState | None, inputs: Any, targets: Any,
          advance: bool = False) -> LayerStep:
    """The step with the optimizer's new parameters and the forward pass after them (gradient descent's when
    `state` is None); `state` advances only with `advance` (a step taken, not shown)."""
    if state is None:
        return rec
    own = state if advance else copy.deepcopy(state)
    taken = optimize(net, rec, own)[0]
    return replace(taken, after=engine.forward(net, inputs, targets, params=taken.new_params))


def described(state: optim.OptimizerState | None) -> dict[str, Any]:
    """What the page shows of the optimizer: name, title, hyperparameters, the steps it has taken."""
    if state is None:
        return {"name": "sgd", "title": optim.OPTIMIZERS["sgd"].title, "hyper": {}, "t": 0}
    return {"name": state.name, "title": optim.OPTIMIZERS[state.name].title, "hyper": dict(state.hyper), "t": state.t}


def train(net: LayerNetwork, state: optim.OptimizerState | None, steps: int, every: int, start: int,
          progress: Any = None) -> tuple[list[int], list[float], LayerNetwork, optim.OptimizerState | None]:
    """`steps` full-batch steps of a copy of `net` with the optimizer (gradient descent when None): (the iterations
    recorded, E_total before each, the network after, the optimizer's state after). E_total is recorded before every
    `every`-th step and after the last, numbered from `start`; `progress(done)` may raise to stop."""
    model, own = net.copy(), copy.deepcopy(state)
    inputs, targets = model.require_samples()
    iterations, errors = [], []
    for k in range(steps):
        rec = engine.step(model, inputs, targets)
        if k % every == 0:
            iterations.append(start + k)
            errors.append(rec.forward.error)
        if own is not None:
            rec = optimize(model, rec, own)[0]
        engine.apply(model, rec)
        if progress is not None:
            progress(k + 1)
    iterations.append(start + steps)
    errors.append(engine.forward(model, inputs, targets).error)
    return iterations, errors, model, own
