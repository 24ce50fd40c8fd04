"""torch.optim's RMSprop, Adagrad and NAdam as registry optimizers: each parameter's own step size.

    >>> [(o.name, o.title) for o in ADAPTIVE][0]
    ('rmsprop', 'torch.optim.RMSprop')

The formulas are torch 2's (`torch/optim/rmsprop.py`, `adagrad.py`, `nadam.py`), in the registry's
template slots (see `stepgrad.core.optim`): «grad» is the gradient with weight decay added (L2, as
torch does), «s» a running (RMSprop) or summed (Adagrad) square of it, «m» its running mean
(RMSprop centered, NAdam), «v» RMSprop's momentum buffer. NAdam's momentum schedule mu_t =
beta1 (1 - 0.5 * 0.96^(t psi)) and its running product are the same for every parameter and shown
once; torch keeps that product in its default dtype, float32 unless set otherwise, so `float32 = 1`
rounds it as torch does.
"""

from __future__ import annotations

import numpy as np

from stepgrad.core.optim_rule import Array, Optimizer, Quantities, Rounder, Rule

_DECAY = Rule("grad", r"«g» + «decay» \cdot «p»", "«g» + «decay» * «p»")


def _rmsprop(h: dict[str, float], slots: dict[str, Array], p: Array, g: Array, t: int, lr: float,
             r: Rounder) -> Quantities:
    grad = r(g + h["decay"] * p)
    alpha = h["alpha"]
    s = r(alpha * slots["s"] + (1 - alpha) * grad * grad)
    q = {"grad": grad, "s+": s, "m+": slots["m"], "v+": slots["v"]}
    if h["centered"]:
        m = q["m+"] = r(alpha * slots["m"] + (1 - alpha) * grad)
        q["rms"] = r(np.sqrt(s - m * m) + h["epsilon"])
    else:
        q["rms"] = r(np.sqrt(s) + h["epsilon"])
    if h["mu"] > 0:
        v = q["v+"] = r(h["mu"] * slots["v"] + grad / q["rms"])
        q["p+"] = r(p - lr * v)
    else:
        q["p+"] = r(p - lr * grad / q["rms"])
    return q


def _adagrad(h: dict[str, float], slots: dict[str, Array], p: Array, g: Array, t: int, lr: float,
             r: Rounder) -> Quantities:
    grad = r(g + h["decay"] * p)
    s = r(slots["s"] + grad * grad)
    rate = lr / (1 + (t - 1) * h["lrdecay"])
    return {"grad": grad, "s+": s, "etat": r(np.full_like(p, rate)),
            "p+": r(p - (rate if h["lrdecay"] else lr) * grad / (np.sqrt(s) + h["epsilon"]))}


def _nadam(h: dict[str, float], slots: dict[str, Array], p: Array, g: Array, t: int, lr: float,
           r: Rounder) -> Quantities:
    beta1, beta2, psi = h["beta1"], h["beta2"], h["psi"]
    grad = r(g + h["decay"] * p)
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
    munext = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
    if h["float32"]:  # torch's float32 product: both factors rounded to float32, the product too
        prod = (slots["prod"].astype(np.float32) * np.float32(mu)).astype(np.float64)
    else:
        prod = slots["prod"] * mu
    prod = r(prod)
    m = r(beta1 * slots["m"] + (1 - beta1) * grad)
    s = r(beta2 * slots["s"] + (1 - beta2) * grad * grad)
    s_hat = r(s / (1 - beta2 ** t))
    mu_a, munext_a = r(np.full_like(p, mu)), r(np.full_like(p, munext))
    denominator = np.sqrt(s_hat) + h["epsilon"]
    new = p - lr * (1 - mu_a) / (1 - prod) * grad / denominator - lr * munext_a / (1 - prod * munext_a) * m / denominator
    return {"grad": grad, "mu": mu_a, "munext": munext_a, "prod+": prod, "m+": m, "s+": s, "s_hat": s_hat,
            "p+": r(new)}


def _on(key: str):
    return lambda h, t: bool(h[key])


def _off(key: str):
    return lambda h, t: not h[key]


ADAPTIVE = [
    Optimizer(
        "rmsprop", "torch.optim.RMSprop", {"alpha": 0.99, "epsilon": 1e-8, "decay": 0.0, "mu": 0.0, "centered": 0.0},
        ("s", "m", "v"),
        (
            _DECAY,
            Rule("s+", r"«alpha» \cdot «s» + (1 - «alpha») \cdot «grad»^{2}", "«alpha» * «s» + (1 - «alpha») * «grad»^2"),
            Rule("m+", r"«alpha» \cdot «m» + (1 - «alpha») \cdot «grad»", "«alpha» * «m» + (1 - «alpha») * «grad»",
                 _on("centered"), "centered: the running mean of the gradient"),
            Rule("rms", r"\sqrt{«s+» - «m+»^{2}} + «epsilon»", "sqrt(«s+» - «m+»^2) + «epsilon»", _on("centered")),
            Rule("rms", r"\sqrt{«s+»} + «epsilon»", "sqrt(«s+») + «epsilon»", _off("centered")),
            Rule("v+", r"«mu» \cdot «v» + \frac{«grad»}{«rms»}", "«mu» * «v» + «grad» / «rms»", _on("mu")),
            Rule("p+", r"«p» - «eta» \cdot «v+»", "«p» - «eta» * «v+»", _on("mu")),
            Rule("p+", r"«p» - «eta» \cdot \frac{«grad»}{«rms»}", "«p» - «eta» * «grad» / «rms»", _off("mu")),
        ),
        "PyTorch's RMSprop: each weight's step is its gradient divided by the root of a running mean of its "
        "squared gradients (centered: of their variance); with momentum mu the steps accumulate in v.",
        _rmsprop, learning_rate=0.005,
    ),
    Optimizer(
        "adagrad", "torch.optim.Adagrad", {"lrdecay": 0.0, "decay": 0.0, "initial": 0.0, "epsilon": 1e-10}, ("s",),
        (
            _DECAY,
            Rule("s+", r"«s» + «grad»^{2}", "«s» + «grad»^2"),
            Rule("etat", r"\frac{«eta»}{1 + («t» - 1) \cdot «lrdecay»}", "«eta» / (1 + («t» - 1) * «lrdecay»)",
                 _on("lrdecay"), "the learning rate at step t"),
            Rule("p+", r"«p» - «etat» \cdot \frac{«grad»}{\sqrt{«s+»} + «epsilon»}",
                 "«p» - «etat» * «grad» / (sqrt(«s+») + «epsilon»)", _on("lrdecay")),
            Rule("p+", r"«p» - «eta» \cdot \frac{«grad»}{\sqrt{«s+»} + «epsilon»}",
                 "«p» - «eta» * «grad» / (sqrt(«s+») + «epsilon»)", _off("lrdecay")),
        ),
        "PyTorch's Adagrad: s sums every squared gradient so far (from initial), and each weight's step is its "
        "gradient divided by the root of that sum: weights that moved much move less.",
        _adagrad, learning_rate=0.05, once=frozenset({"etat"}), start={"s": "initial"},
    ),
    Optimizer(
        "nadam", "torch.optim.NAdam",
        {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "decay": 0.0, "psi": 0.004, "float32": 0.0},
        ("m", "s", "prod"),
        (
            _DECAY,
            Rule("mu", r"«beta1» \cdot \left(1 - 0.5 \cdot 0.96^{«t» \cdot «psi»}\right)",
                 "«beta1» * (1 - 0.5 * 0.96^(«t» * «psi»))", note="the momentum at this step"),
            Rule("munext", r"«beta1» \cdot \left(1 - 0.5 \cdot 0.96^{(«t» + 1) \cdot «psi»}\right)",
                 "«beta1» * (1 - 0.5 * 0.96^((«t» + 1) * «psi»))", note="the momentum at the next step"),
            Rule("prod+", r"«prod» \cdot «mu»", "«prod» * «mu»", _off("float32"), "the product of the momenta so far"),
            Rule("prod+", r"«prod» \cdot «mu»", "«prod» * «mu»", _on("float32"),
                 "the product of the momenta so far, rounded to float32 as torch keeps it"),
            Rule("m+", r"«beta1» \cdot «m» + (1 - «beta1») \cdot «grad»", "«beta1» * «m» + (1 - «beta1») * «grad»"),
            Rule("s+", r"«beta2» \cdot «s» + (1 - «beta2») \cdot «grad»^{2}", "«beta2» * «s» + (1 - «beta2») * «grad»^2"),
            Rule("s_hat", r"\frac{«s+»}{1 - «beta2»^{«t»}}", "«s+» / (1 - «beta2»^«t»)"),
            Rule("p+", r"«p» - «eta» \cdot \frac{1 - «mu»}{1 - «prod+»} \cdot \frac{«grad»}{\sqrt{«s_hat»} + «epsilon»} "
                 r"- «eta» \cdot \frac{«munext»}{1 - «prod+» \cdot «munext»} \cdot \frac{«m+»}{\sqrt{«s_hat»} + «epsilon»}",
                 "«p» - «eta» * (1 - «mu») / (1 - «prod+») * «grad» / (sqrt(«s_hat») + «epsilon») "
                 "- «eta» * «munext» / (1 - «prod+» * «munext») * «m+» / (sqrt(«s_hat») + «epsilon»)"),
        ),
        "PyTorch's NAdam: Adam with Nesterov momentum; the momentum mu grows over the steps (momentum decay psi), "
        "and the step mixes this gradient with the first moment m, each corrected by the product of the momenta.",
        _nadam, learning_rate=0.005, once=frozenset({"mu", "munext", "prod", "prod+"}), start={"prod": 1.0},
    ),
]
