"""Optimizers: one registry entry each, with the update's formulas as LaTeX/text templates.

    >>> OPTIMIZERS["adam"].hyper
    {'beta1': 0.9, 'beta2': 0.999, 'epsilon': 1e-08}

Each entry lists the quantities it computes for one parameter p (a weight or bias) with gradient
g = dE_total/dp, in order, the last being p+ (the new value). Template slots: «p», «g», the
previous state «v», «m», «s», the new state «v+», «m+», «s+», the bias-corrected «m_hat»,
«s_hat», and the hyperparameters «eta», «mu», «beta1», «beta2», «epsilon», «t» (the step number,
1 for the first step). In a trace these become, for weight w5 (see `trace_name`):

    v_w5  v_w5+  m_w5  m_w5+  s_w5  s_w5+  m_hat_w5  s_hat_w5  w5+    (and mu, beta1, beta2, epsilon, t)

The state (velocities, moments, step count) is plain data (`OptimizerState.to_dict`), kept in
network.training.optimizer (a TrainingState) so a saved network resumes exactly. The conventions are
PyTorch's (torch.optim.SGD with momentum, dampening 0; torch.optim.Adam): the first momentum step
has v+ = g, and Adam's moments start at zero with the bias correction 1 - beta^t.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stepgrad.core import names
from stepgrad.core.errors import StepgradError
from stepgrad.core.optim_adaptive import ADAPTIVE
from stepgrad.core.optim_rule import Optimizer, Quantities, Rounder, Rule

Array = np.ndarray
__all__ = ["OPTIMIZERS", "Optimizer", "OptimizerState", "Rule", "get"]


def _sgd(h: dict[str, float], slots: dict[str, Array], p: Array, g: Array, t: int, lr: float, r: Rounder) -> Quantities:
    return {"p+": r(p - lr * g)}


def _momentum(h: dict[str, float], slots: dict[str, Array], p: Array, g: Array, t: int, lr: float,
              r: Rounder) -> Quantities:
    v = r(h["mu"] * slots["v"] + g)
    return {"v+": v, "p+": r(p - lr * v)}


def _adam(h: dict[str, float], slots: dict[str, Array], p: Array, g: Array, t: int, lr: float, r: Rounder) -> Quantities:
    m = r(h["beta1"] * slots["m"] + (1 - h["beta1"]) * g)
    s = r(h["beta2"] * slots["s"] + (1 - h["beta2"]) * g * g)
    m_hat = r(m / (1 - h["beta1"] ** t))
    s_hat = r(s / (1 - h["beta2"] ** t))
    return {"m+": m, "s+": s, "m_hat": m_hat, "s_hat": s_hat,
            "p+": r(p - lr * m_hat / (np.sqrt(s_hat) + h["epsilon"]))}


def _torch_sgd(h: dict[str, float], slots: dict[str, Array], p: Array, g: Array, t: int, lr: float,
               r: Rounder) -> Quantities:
    # torch.optim.SGD: weight decay into the gradient; the velocity starts as the first gradient
    # (no dampening then) and is not used without momentum; nesterov looks one velocity ahead.
    grad = r(g + h["decay"] * p)
    v = r(h["mu"] * slots["v"] + (1 - h["dampening"]) * grad) if t > 1 and h["mu"] > 0 else grad
    step = r(grad + h["mu"] * v) if h["nesterov"] > 0 else v
    return {"grad": grad, "v+": v, "step": step, "p+": r(p - lr * step)}


def _torch_adam(h: dict[str, float], slots: dict[str, Array], p: Array, g: Array, t: int, lr: float,
                r: Rounder) -> Quantities:
    # torch.optim.Adam: weight decay added to the gradient (L2), then Adam on that gradient
    grad = r(g + h["decay"] * p)
    return {"grad": grad, **_adam(h, slots, p, grad, t, lr, r)}


def _adamw(h: dict[str, float], slots: dict[str, Array], p: Array, g: Array, t: int, lr: float, r: Rounder) -> Quantities:
    # torch.optim.AdamW: Adam's step plus the decoupled weight decay eta * decay * p
    q = _adam(h, slots, p, g, t, lr, r)
    q["p+"] = r(p - lr * (q["m_hat"] / (np.sqrt(q["s_hat"]) + h["epsilon"]) + h["decay"] * p))
    return q


_ADAM_MOMENTS = (
    Rule("m+", r"«beta1» \cdot «m» + (1 - «beta1») \cdot «grad»", "«beta1» * «m» + (1 - «beta1») * «grad»"),
    Rule("s+", r"«beta2» \cdot «s» + (1 - «beta2») \cdot «grad»^{2}", "«beta2» * «s» + (1 - «beta2») * «grad»^2"),
    Rule("m_hat", r"\frac{«m+»}{1 - «beta1»^{«t»}}", "«m+» / (1 - «beta1»^«t»)"),
    Rule("s_hat", r"\frac{«s+»}{1 - «beta2»^{«t»}}", "«s+» / (1 - «beta2»^«t»)"),
)
_WEIGHT_DECAY = Rule("grad", r"«g» + «decay» \cdot «p»", "«g» + «decay» * «p»")

OPTIMIZERS: dict[str, Optimizer] = {
    o.name: o
    for o in [
        Optimizer(
            "sgd", "Gradient descent", {}, (),
            (Rule("p+", r"«p» - «eta» \cdot «g»", "«p» - «eta» * «g»"),),
            "Each weight moves against its gradient, scaled by the learning rate.",
            _sgd, ("{p} = {p} - lr * {g}",), kernel=0, plain=True,
        ),
        Optimizer(
            "momentum", "Gradient descent with momentum", {"mu": 0.9}, ("v",),
            (
                Rule("v+", r"«mu» \cdot «v» + «g»", "«mu» * «v» + «g»"),
                Rule("p+", r"«p» - «eta» \cdot «v+»", "«p» - «eta» * «v+»"),
            ),
            "The velocity v remembers past gradients (decaying by mu each step); the weight moves against it.",
            _momentum, ("{v} = mu * {v} + {g}", "{p} = {p} - lr * {v}"), kernel=1, learning_rate=0.05,
        ),
        Optimizer(
            "adam", "Adam", {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, ("m", "s"),
            (
                Rule("m+", r"«beta1» \cdot «m» + (1 - «beta1») \cdot «g»", "«beta1» * «m» + (1 - «beta1») * «g»"),
                Rule("s+", r"«beta2» \cdot «s» + (1 - «beta2») \cdot «g»^{2}", "«beta2» * «s» + (1 - «beta2») * «g»^2"),
                Rule("m_hat", r"\frac{«m+»}{1 - «beta1»^{«t»}}", "«m+» / (1 - «beta1»^«t»)"),
                Rule("s_hat", r"\frac{«s+»}{1 - «beta2»^{«t»}}", "«s+» / (1 - «beta2»^«t»)"),
                Rule("p+", r"«p» - «eta» \cdot \frac{«m_hat»}{\sqrt{«s_hat»} + «epsilon»}",
                     "«p» - «eta» * «m_hat» / (sqrt(«s_hat») + «epsilon»)"),
            ),
            "First moment m (mean of gradients) and second moment s (mean of squared gradients), "
            "each corrected for starting at zero, scale every weight's own step.",
            _adam,
            ("{m} = beta1 * {m} + (1 - beta1) * {g}", "{s} = beta2 * {s} + (1 - beta2) * {g} * {g}",
             "{p} = {p} - lr * ({m} / (1 - beta1 ** t)) / (sqrt({s} / (1 - beta2 ** t)) + epsilon)"),
            kernel=2, learning_rate=0.005,
        ),
        Optimizer(
            "torch_sgd", "torch.optim.SGD", {"mu": 0.0, "dampening": 0.0, "nesterov": 0.0, "decay": 0.0}, ("v",),
            (
                _WEIGHT_DECAY,
                Rule("v+", r"«mu» \cdot «v» + (1 - «dampening») \cdot «grad»", "«mu» * «v» + (1 - «dampening») * «grad»",
                     lambda h, t: t > 1 and h["mu"] > 0, "the velocity: momentum mu of the last one, plus this gradient"),
                Rule("v+", r"«grad»", "«grad»", lambda h, t: t == 1 and h["mu"] > 0,
                     "the first step: the velocity starts as the gradient"),
                Rule("v+", r"«grad»", "«grad»", lambda h, t: h["mu"] == 0, "no momentum: the step is the gradient"),
                Rule("step", r"«grad» + «mu» \cdot «v+»", "«grad» + «mu» * «v+»", lambda h, t: bool(h["nesterov"]),
                     "nesterov: one velocity ahead"),
                Rule("step", r"«v+»", "«v+»", lambda h, t: not h["nesterov"]),
                Rule("p+", r"«p» - «eta» \cdot «step»", "«p» - «eta» * «step»"),
            ),
            "PyTorch's SGD: weight decay adds decay * p to the gradient; the velocity v (momentum mu, "
            "dampening) starts as the first gradient; nesterov steps along gradient + mu * velocity.",
            _torch_sgd, learning_rate=0.05,
        ),
        Optimizer(
            "torch_adam", "torch.optim.Adam", {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "decay": 0.0}, ("m", "s"),
            (_WEIGHT_DECAY, *_ADAM_MOMENTS,
             Rule("p+", r"«p» - «eta» \cdot \frac{«m_hat»}{\sqrt{«s_hat»} + «epsilon»}",
                  "«p» - «eta» * «m_hat» / (sqrt(«s_hat») + «epsilon»)")),
            "PyTorch's Adam: weight decay adds decay * p to the gradient, then Adam's moments of that gradient.",
            _torch_adam, learning_rate=0.005,
        ),
        Optimizer(
            "adamw", "torch.optim.AdamW", {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "decay": 0.01}, ("m", "s"),
            (*(Rule(r.role, r.latex.replace("«grad»", "«g»"), r.text.replace("«grad»", "«g»")) for r in _ADAM_MOMENTS),
             Rule("p+", r"«p» - «eta» \cdot \left(\frac{«m_hat»}{\sqrt{«s_hat»} + «epsilon»} + «decay» \cdot «p»\right)",
                  "«p» - «eta» * («m_hat» / (sqrt(«s_hat») + «epsilon») + «decay» * «p»)")),
            "PyTorch's AdamW: Adam's step, and the weight decays by eta * decay * p apart from the gradient.",
            _adamw, learning_rate=0.005,
        ),
        *ADAPTIVE,
    ]
}

HYPER_NOTES = {"mu": "momentum", "beta1": "decay of the first moment", "beta2": "decay of the second moment",
               "epsilon": "keeps the division finite", "t": "step number", "dampening": "of the gradient in v",
               "nesterov": "1: Nesterov momentum", "decay": "weight decay",
               "alpha": "decay of the running mean of squares", "centered": "1: divide by the variance",
               "lrdecay": "learning-rate decay (torch's lr_decay)", "initial": "the sum before the first step "
               "(torch's initial_accumulator_value)", "psi": "momentum decay (torch's momentum_decay)",
               "float32": "1: the momentum product kept in float32, as torch does by default"}


def get(name: str) -> Optimizer:
    """The registry entry `name`, or a StepgradError listing the choices."""
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise StepgradError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}", where="--optimizer") from None


def trace_name(role: str, parameter: str) -> str:
    """The trace name of a role for a parameter: ("m+", "w5") -> "m_w5+", ("p+", "w5") -> "w5+"."""
    if role == "p":
        return parameter
    if role == "p+":
        return names.updated(parameter)
    if role == "g":
        return names.gradient(parameter)
    if role.endswith("+"):
        return names.state(role[:-1], parameter, after=True)
    return names.state(role, parameter)


@dataclass
class OptimizerState:
    """An optimizer's hyperparameters, step count and per-parameter state (arrays shaped like the parameters).

    `settings` (torch's parameter groups): one table per parameter, in optimizer order (every weight matrix,
    then every bias vector), of what differs for it from the shared settings: its learning rate `lr` and
    hyperparameters, e.g. [{}, {}, {"decay": 0.0}, {"decay": 0.0}] for AdamW without decay on the biases.
    Empty: every parameter uses the shared ones.
    """

    name: str
    hyper: dict[str, float]
    t: int = 0
    slots: dict[str, list[Array]] = field(default_factory=dict)  # "m" -> one array per parameter
    settings: list[dict[str, float]] = field(default_factory=list)

    def of(self, index: int, learning_rate: float) -> tuple[dict[str, float], float]:
        """(hyperparameters, learning rate) of parameter `index`: the shared ones with its own settings."""
        own = self.settings[index] if self.settings else {}
        if not own:
            return self.hyper, learning_rate
        return {**self.hyper, **{k: v for k, v in own.items() if k != "lr"}}, float(own.get("lr", learning_rate))

    @classmethod
    def fresh(cls, name: str, params: list[Array], **hyper: float) -> OptimizerState:
        """Zero state for `params` (hyperparameters default to the registry's)."""
        opt = get(name)
        values = dict(opt.hyper)
        for key, value in hyper.items():
            if value is not None:
                if key not in values:
                    raise StepgradError(f"{name} has no hyperparameter {key!r}", where="--optimizer")
                values[key] = float(value)
        return cls(name, values, 0, {s: [np.full(np.shape(p), opt.initial(s, values)) for p in params]
                                     for s in opt.slots})

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists of numbers), safe for JSON and TOML."""
        data = {"name": self.name, "hyper": dict(self.hyper), "t": self.t,
                "slots": {k: [a.tolist() for a in arrays] for k, arrays in self.slots.items()}}
        if any(self.settings):
            data["settings"] = [dict(own) for own in self.settings]
        return data

    @classmethod
    def from_dict(cls, data: Any, params: list[Array] | None = None, where: str = "training.optimizer") -> OptimizerState:
        """Read `to_dict` output back, as strictly as a spec: the registry's name, hyperparameters and slots,
        finite numbers, a step count >= 0; checks the shapes against `params` when given."""
        if not isinstance(data, dict):
            raise StepgradError("expected a table (name, hyper, t, slots)", where=where)
        unknown = set(data) - {"name", "hyper", "t", "slots", "settings"}
        if unknown:
            raise StepgradError(f"unknown key {sorted(unknown)[0]!r} (allowed: name, hyper, t, slots, settings)",
                                where=where)
        name = data.get("name")
        if name not in OPTIMIZERS:
            raise StepgradError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}", where=f"{where}.name")
        opt = OPTIMIZERS[name]
        hyper = dict(opt.hyper)
        given = data.get("hyper", {})
        if not isinstance(given, dict):
            raise StepgradError("expected a table of hyperparameters", where=f"{where}.hyper")
        for key, value in given.items():
            if key not in hyper:
                raise StepgradError(f"{name} has no hyperparameter {key!r} (it has: {', '.join(hyper) or 'none'})",
                                    where=f"{where}.hyper.{key}")
            if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
                raise StepgradError(f"expected a finite number, got {value!r}", where=f"{where}.hyper.{key}")
            hyper[key] = float(value)
        t = data.get("t", 0)
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise StepgradError(f"expected a whole number >= 0, got {t!r}", where=f"{where}.t")
        raw = data.get("slots", {})
        if not isinstance(raw, dict) or set(raw) - set(opt.slots):
            raise StepgradError(f"expected the slots {', '.join(opt.slots) or '(none)'}", where=f"{where}.slots")
        slots = {}
        for k, arrays in raw.items():
            try:
                slots[k] = [np.array(a, dtype=np.float64) for a in arrays]
            except (TypeError, ValueError):
                raise StepgradError("expected lists of numbers, one per parameter", where=f"{where}.slots.{k}") from None
            if not all(np.isfinite(a).all() for a in slots[k]):
                raise StepgradError("a number that is not finite", where=f"{where}.slots.{k}")
        if t > 0 and set(slots) != set(opt.slots):
            raise StepgradError(f"after {t} steps {name} needs the slots {', '.join(opt.slots)}", where=f"{where}.slots")
        if params is not None:  # before the first step a slot not given starts where the optimizer starts it
            for slot in set(opt.slots) - set(slots):
                slots[slot] = [np.full(np.shape(p), opt.initial(slot, hyper)) for p in params]
        state = cls(name, hyper, t, slots, _settings(data.get("settings", []), hyper, name, f"{where}.settings"))
        if opt.plain and any(state.settings):
            raise StepgradError(f"{name} takes one learning rate for every parameter; per-parameter settings need "
                                "torch_sgd", where=f"{where}.settings")
        if params is not None and state.settings and len(state.settings) != len(params):
            raise StepgradError(f"expected one table per parameter ({len(params)}: every weight, then every bias)",
                                where=f"{where}.settings")
        if params is not None:
            for k, arrays in state.slots.items():
                if [a.shape for a in arrays] != [p.shape for p in params]:
                    raise StepgradError(f"optimizer state {k!r} does not match the network's shape", where=where)
        return state

    def as_dtype(self, dtype) -> OptimizerState:
        """A copy with the state arrays in `dtype`."""
        return OptimizerState(self.name, self.hyper, self.t, {k: [a.astype(dtype) for a in v] for k, v in self.slots.items()},
                              self.settings)


def _settings(raw: Any, hyper: dict[str, float], name: str, where: str) -> list[dict[str, float]]:
    """The per-parameter settings table read strictly: a list of tables of lr and the optimizer's hyperparameters."""
    if not isinstance(raw, list) or not all(isinstance(own, dict) for own in raw):
        raise StepgradError("expected a list of tables, one per parameter (every weight, then every bias)", where=where)
    settings = []
    for k, own in enumerate(raw):
        for key, value in own.items():
            if key != "lr" and key not in hyper:
                raise StepgradError(f"{name} has no hyperparameter {key!r} (it has: lr, {', '.join(hyper)})",
                                    where=f"{where}[{k}].{key}")
            if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
                raise StepgradError(f"expected a finite number, got {value!r}", where=f"{where}[{k}].{key}")
        settings.append({key: float(value) for key, value in own.items()})
    return settings


def compute(state: OptimizerState, learning_rate: float, param: Array, grad: Array, index: int,
            rounded: Callable[[Array], Array] | None = None) -> dict[str, Array]:
    """Every quantity of the rule for parameter `index` (roles -> arrays), at step state.t + 1; state unchanged.

    `rounded` (hand-calculation mode) is applied to each quantity before the next one uses it.
    """
    slots = {name: state.slots[name][index] for name in state.slots}
    hyper, rate = state.of(index, learning_rate)
    return get(state.name).compute(hyper, slots, param, grad, state.t + 1, rate, rounded or (lambda a: a))


def apply(state: OptimizerState, learning_rate: float, params: list[Array], grads: list[Array],
          active: list[bool] | None = None,
          rounded: Callable[[Array], Array] | None = None) -> tuple[list[Array], list[dict[str, Array]]]:
    """One optimizer step over all parameters: (new params, per-parameter quantities); advances the state.

    Parameters whose `active` flag is False (biases when update_biases is off) keep their value and state.
    """
    new_params: list[Array] = []
    details: list[dict[str, Array]] = []
    for k, (p, g) in enumerate(zip(params, grads)):
        if active is not None and not active[k]:
            new_params.append(p)
            details.append({})
            continue
        q = compute(state, learning_rate, p, g, k, rounded)
        for slot in state.slots:
            state.slots[slot][k] = q[f"{slot}+"]
        new_params.append(q["p+"])
        details.append(q)
    state.t += 1
    return new_params, details


def parameters(net) -> list[Array]:
    """The network's parameters in optimizer order: every weight matrix, then every bias vector."""
    return list(net.weights) + list(net.biases)


def active_flags(net) -> list[bool]:
    """Which parameters an optimizer updates (Network.trains: the weights, the biases when update_biases is on, less
    the frozen ones); the others keep their value and their state, as torch.optim skips a parameter without grad."""
    return net.trains()


def state_of(net, name: str, **hyper: float) -> OptimizerState:
    """The optimizer state saved with `net` (resumed training) if it is for `name`, else a fresh one."""
    from stepgrad.core.training_state import TrainingState

    saved = TrainingState.of(net).optimizer
    if isinstance(saved, dict) and saved.get("name") == name:
        state = OptimizerState.from_dict(saved, parameters(net))
        for key, value in hyper.items():
            if value is not None:
                state.hyper[key] = float(value)
                for own in state.settings:  # a setting given now is every parameter's
                    own.pop(key, None)
        return state
    return OptimizerState.fresh(name, parameters(net), **hyper)


def check_order(order: str, optimizer: str) -> None:
    """The sequential order is defined for plain gradient descent only: a StepgradError otherwise."""
    if order == "sequential" and not get(optimizer).plain:
        raise StepgradError(f"{optimizer} takes the gradients of the synchronous update order; "
                            "use --update-order synchronous", where="--optimizer")
