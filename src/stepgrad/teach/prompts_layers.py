"""Self-explanation prompts for the steps of a layer-table derivation (conv, pooling, residual, rnn, attention,
normalization): the rule that gives each step, asked as a question, with the rules a student mixes it up with.

    >>> from stepgrad.teach.exercise_layers import generate_conv
    >>> trace = generate_conv(seed=3).trace
    >>> p = layer_prompt(trace, trace.step("out_p1[1,1,1]"))
    >>> p.question, p.choices[p.answer]
    ('Which rule gives out_p1[1,1,1]?', "the window's maximum")
    >>> layer_prompt(trace, trace.step("dE_total/dout_c1[1,1,3]")).rule
    'the max-pool route'

The rule is read from the step (its kind, its name, its formula) and the kind of the layer it belongs to
(the trace's meta); nothing is written per network. The dense rules of teach/prompts.py keep their names
(weighted sum, the activation, chain rule, ...) so that a student meets the same words on both kinds of sheet.
"""

from __future__ import annotations

import re

from stepgrad.core import names
from stepgrad.core.trace import Step, Trace
from stepgrad.teach.prompts import Prompt

# rule -> (two rules a student confuses it with, the open question)
RULES: dict[str, tuple[tuple[str, str], str]] = {
    "weighted sum": (("the activation", "chain rule"), "Which weight multiplies which input, and where does the bias "
                     "come in?"),
    "the activation": (("weighted sum", "the loss"), "Which activation does this layer use, and what does it do to net?"),
    "cross-correlation": (("true convolution", "weighted sum"), "Which input cells does the kernel's window cover "
                          "here (stride, padding), and is the kernel turned?"),
    "true convolution": (("cross-correlation", "weighted sum"), "Why is the kernel turned by 180 degrees before it "
                         "meets the window?"),
    "the window's maximum": (("the window's mean", "the activation"), "Which cell of the window is the largest, and "
                             "what happens on a tie?"),
    "the window's mean": (("the window's maximum", "weighted sum"), "How many cells does the window hold?"),
    "flatten": (("weighted sum", "the window's maximum"), "In which order are the channels, rows and columns read "
                "into the vector?"),
    "the skip connection": (("weighted sum", "chain rule"), "What is added to the block's output, and why?"),
    "the recurrence": (("weighted sum", "the activation"), "Which input and which earlier state enter this step?"),
    "scaled dot product": (("weighted sum", "softmax"), "Why is the dot product of q and k divided by sqrt(d_k)?"),
    "dot product": (("scaled dot product", "softmax"), "Which query and which key meet in this score?"),
    "softmax": (("the activation", "scaled dot product"), "Over which axis does the softmax run, and what do "
                "the weights of a row add up to?"),
    "the values weighted by attention": (("weighted sum", "softmax"), "Which weights a[i,j] mix which values v[j]?"),
    "the mean": (("the variance", "weighted sum"), "Over which values is the mean taken: one sample's features or "
                 "one feature over the batch?"),
    "the variance": (("the mean", "normalization"), "Is the variance divided by N or by N - 1, and why?"),
    "normalization": (("the variance", "scale and shift"), "Why is epsilon added under the square root?"),
    "scale and shift": (("normalization", "weighted sum"), "Which parameters does the layer learn, and what do they "
                        "undo?"),
    "the running statistics": (("the mean", "gradient descent"), "Why are the running statistics not learned by "
                               "gradient descent?"),
    "the loss": (("the activation", "weighted sum"), "Which values does this error use, and why is it never negative?"),
    "sum of the errors": (("the loss", "weighted sum"), "Why is the total error the sum of the outputs' errors?"),
    "the loss's derivative": (("the activation's derivative", "chain rule"), "Where does the sign come from?"),
    "the activation's derivative": (("power rule", "the loss's derivative"), "How does this derivative follow from "
                                    "the activation's formula?"),
    "power rule": (("chain rule", "sum rule"), "Why do the other terms give 0 when you differentiate by this one?"),
    "chain rule": (("power rule", "sum rule"), "Which path from this quantity to the error does this product follow?"),
    "sum rule": (("power rule", "chain rule"), "Why are the paths' terms added rather than multiplied?"),
    "the max-pool route": (("the average pool's share", "sum rule"), "Which window chose this cell as its largest, "
                           "and what do the cells no window chose get?"),
    "the average pool's share": (("the max-pool route", "chain rule"), "Why does each cell get a 1/k^2 share of its "
                                 "windows' gradients?"),
    "flatten backward": (("flatten", "chain rule"), "Which vector entry came from this cell of the map?"),
    "the skip path": (("chain rule", "power rule"), "Why does the gradient reach the block's input twice: through "
                      "the block and around it?"),
    "the softmax's Jacobian": (("the activation's derivative", "chain rule"), "Why does every weight of the row "
                               "take part in each score's gradient?"),
    "the normalization's paths": (("chain rule", "sum rule"), "Which paths through xhat, the mean and the variance "
                                  "reach this value?"),
    "the sum over positions": (("chain rule", "sum rule"), "Why does one shared weight collect a term from "
                               "every place it was used (position, time step, sample)?"),
    "gradient descent": (("chain rule", "weighted sum"), "Why is the gradient subtracted, and what does the "
                         "learning rate scale?"),
}
# the order the choices are shown in (stable, so that the right answer is not always first)
SHOWN = tuple(RULES)
_STEP = re.compile(r"_t\d+$")


def _label(name: str) -> str | None:
    """The layer label a name is about (c1, p1, h1 from h1_t2, n1 from mu_n1), None for inputs and parameters."""
    parts = names.parse(name)
    node = parts.bottom if parts.kind == "partial" else parts
    return _STEP.sub("", node.neuron) if node is not None and node.neuron else None


def _kinds(trace: Trace) -> dict[str, str]:
    return {layer["label"]: layer["kind"] for layer in trace.meta["layers"]}


def _forward(step: Step, kind: str, convolution: str) -> str:
    parts = names.parse(step.name)
    symbol = parts.symbol or ""
    if kind in ("conv1d", "conv2d"):
        if step.kind == "net":
            return "true convolution" if convolution == "convolution" else "cross-correlation"
        return "the activation"
    if kind in ("maxpool", "avgpool"):
        return "the window's maximum" if kind == "maxpool" else "the window's mean"
    if kind == "flatten":
        return "flatten"
    if kind == "residual":
        return "the skip connection"
    if kind == "rnn":
        return "the recurrence" if step.kind == "net" else "the activation"
    if kind == "attention":
        if symbol == "score":
            return "scaled dot product" if "sqrt" in step.text else "dot product"
        return {"a": "softmax", "z": "the values weighted by attention"}.get(symbol, "weighted sum")
    if kind in ("layernorm", "batchnorm"):
        if step.kind == "update":
            return "the running statistics"
        return {"mu": "the mean", "var": "the variance", "xhat": "normalization"}.get(symbol, "scale and shift")
    return "weighted sum" if step.kind == "net" else "the activation"


def _backward(step: Step, kinds: dict[str, str]) -> str:
    parts = names.parse(step.name)
    top, bottom = parts.top, parts.bottom
    if top is None or bottom is None:
        return "chain rule"
    if top.kind != "error":
        if top.kind == "out" and bottom.kind == "net":
            return "the activation's derivative"
        return "power rule"
    if "target" in step.text:
        return "the loss's derivative"
    if bottom.kind in ("weight", "bias") and " + " in step.text:
        return "the sum over positions"
    from_kinds = {kinds.get(_label(op) or "", "") for op in step.operands if names.parse(op).kind == "partial"}
    if "residual" in from_kinds:
        return "the skip path"
    if from_kinds & {"maxpool"}:
        return "the max-pool route"
    if from_kinds & {"avgpool"}:
        return "the average pool's share"
    if from_kinds & {"flatten"}:
        return "flatten backward"
    if bottom.symbol == "score":
        return "the softmax's Jacobian"
    if bottom.symbol in ("var", "mu") or (from_kinds & {"layernorm", "batchnorm"} and "sqrt" in step.text):
        return "the normalization's paths"
    return "sum rule" if " + " in step.text else "chain rule"


def layer_rule(trace: Trace, step: Step) -> str:
    """The rule that gives a derived step of a layer-table trace (a key of RULES); ValueError for a given value."""
    if not step.text:
        raise ValueError(f"{step.name} is given, not derived")
    if step.kind == "error":
        return "sum of the errors" if step.name.startswith(names.TOTAL) and "«E_" in step.text else "the loss"
    if step.kind == "update":
        return "the running statistics" if "running" in step.name else "gradient descent"
    if names.parse(step.name).kind == "partial":
        return _backward(step, _kinds(trace))
    kinds = _kinds(trace)
    return _forward(step, kinds.get(_label(step.name) or "", "dense"), str(trace.meta.get("convolution", "")))


def layer_prompt(trace: Trace, step: Step) -> Prompt:
    """The self-explanation prompt for one derived step of a layer-table trace."""
    rule = layer_rule(trace, step)
    (first, second), why = RULES[rule]
    shown = sorted({rule, first, second}, key=SHOWN.index)
    return Prompt(step.name, rule, f"Which rule gives {step.name}?", tuple(shown), shown.index(rule), why)


__all__ = ["RULES", "layer_prompt", "layer_rule"]
