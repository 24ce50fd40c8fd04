"""An rnn's rules for `explain --derive`: the recurrence, and backpropagation through time in index and matrix form."""

from __future__ import annotations

from typing import Any

from stepgrad.core import names
from stepgrad.formats.rule_forms import Expr, Rule, Sum, plus, span, times
from stepgrad.formats.seq_rules_refs import Layer, activation, derivative, weighted


def _sizes(layer: Layer) -> tuple[int, int, int]:
    steps, features = (int(n) for n in layer["in_shape"])
    return steps, features, int(layer["parameters"]["weight_h"][0])


def _stems(layer: Layer) -> tuple[str, str, str | None]:
    stems = layer["parameter_names"]
    return stems["weight_x"], stems["weight_h"], stems.get("bias")


def forward(layer: Layer, refs: Any) -> tuple[str, list[Rule]]:
    """net_h[t] = Wx x[t] + Wh h[t-1] + b, h[t] = act(net_h[t]), entry by entry."""
    label, settings = layer["label"], layer["settings"]
    steps, features, hidden = _sizes(layer)
    wx, wh, bias = _stems(layer)
    source = refs.source(layer)
    net = refs.value(lambda b: names.recurrent_value("net", label, b["t"], b["j"]))
    previous = refs.value(lambda b: names.recurrent_value("h", label, b["t"] - 1, b["k"]))
    x = refs.value(lambda b: source((b["t"], b["i"])))
    inputs = weighted(refs, wx, "j", "i", features, x, None)
    recurrent = weighted(refs, wh, "j", "k", hidden, previous, bias)
    where = refs.domain(span("t", steps), span("j", hidden))
    found = [Rule(net, (plus(inputs, recurrent),), where)]
    act = settings["recurrent_activation"]
    written = activation(act, net)
    if written is not None:
        found.append(Rule(refs.value(lambda b: names.recurrent_value("h", label, b["t"], b["j"])), (written,), where))
    start = "h0 = 0" if "h0 = 0" in layer["description"] else "h0 as given"
    return (f"The rule (an Elman step, the same weights at every step t = 1..{steps}; {names.recurrent_label('h', label, 0)} "
            f"is the initial state, {start}; activation {act}). In matrix form: net_t = {wx} x_t + {wh} h_(t-1)"
            f"{' + ' + bias if bias else ''}, h_t = {act}(net_t).", found)


def backward(layer: Layer, refs: Any) -> tuple[str, list[Rule]]:
    """BPTT: dE/dh[t] from above and from step t+1, delta_t, and each shared weight's sum over the steps."""
    label, settings = layer["label"], layer["settings"]
    steps, features, hidden = _sizes(layer)
    wx, wh, bias = _stems(layer)
    source = refs.source(layer)
    h = lambda b: names.recurrent_value("h", label, b["t"], b["j"])  # noqa: E731
    net = lambda b: names.recurrent_value("net", label, b["t"], b["j"])  # noqa: E731
    delta = refs.signal(net)
    every = settings["output"] == "sequence"
    back = Sum("k", span("k", hidden)[1], span("k", hidden)[2],
               times(refs.signal(lambda b: names.recurrent_value("net", label, b["t"] + 1, b["k"])),
                     refs.shared(lambda b: names.with_position(wh, (b["k"], b["j"])))))
    above = refs.above(h)
    found = [Rule(refs.signal(h), (above,), refs.domain(("t", lambda _b: [steps], ""), span("j", hidden)),
                  f"at the last step, t: {steps}")]
    if steps > 1:
        earlier = refs.domain(("t", lambda _b: range(1, steps), ""), span("j", hidden))
        found.append(Rule(refs.signal(h), (plus(above, back) if every else back,), earlier,
                          f"for t in 1..{steps - 1}" + ("" if every else f": only h at step {steps} is passed on, so nothing "
                                                                      "comes from above before it")))
    local = refs.local(h, net)
    written = derivative(settings["recurrent_activation"], refs.value(h), refs.value(net))
    each = refs.domain(span("t", steps), span("j", hidden))
    if written is not None:
        found.append(Rule(local, (written,), each))
    found.append(Rule(delta, (times(refs.signal(h), local),), each))

    def over_steps(operand: Expr | None) -> Expr:
        body = delta if operand is None else times(delta, operand)
        return refs.over_samples(Sum("t", span("t", steps)[1], span("t", steps)[2], body))

    previous = refs.value(lambda b: names.recurrent_value("h", label, b["t"] - 1, b["k"]))
    x = refs.value(lambda b: source((b["t"], b["i"])))
    found.append(Rule(refs.gradient(lambda b: names.with_position(wh, (b["j"], b["k"]))), (over_steps(previous),),
                      _letters(refs, span("j", hidden), span("k", hidden))))
    found.append(Rule(refs.gradient(lambda b: names.with_position(wx, (b["j"], b["i"]))), (over_steps(x),),
                      _letters(refs, span("j", hidden), span("i", features))))
    if bias:
        found.append(Rule(refs.gradient(lambda b: names.with_position(bias, (b["j"],))), (over_steps(None),),
                          _letters(refs, span("j", hidden))))
    sent = Sum("j", span("j", hidden)[1], span("j", hidden)[2],
               times(delta, refs.shared(lambda b: names.with_position(wx, (b["j"], b["i"])))))
    found.append(Rule(refs.signal(lambda b: source((b["t"], b["i"]))), (sent,),
                      refs.domain(span("t", steps), span("i", features))))
    d = f"delta_t, dE_total/dnet_{label}_t<t>,"
    intro = (f"The rules (backpropagation through time, full: every step's error goes back to step 1). Going back "
             f"from step {steps}, the error signal reaching the state at step t is what the layer above sends to it "
             f"(above(...): {'every step' if every else f'step {steps} only'} is passed on) plus what step t+1 sends "
             f"back through {wh}; {d} is that times the activation's derivative. The weights are shared by every step, "
             f"so each one's gradient is a sum with one term per time step. In matrix form: delta_t = (above_t + "
             f"{wh}^T delta_(t+1)) * act'(net_t) (delta_({steps + 1}) = 0), dE_total/d{wh} = sum over t of delta_t "
             f"h_(t-1)^T, dE_total/d{wx} = sum over t of delta_t x_t^T"
             + (f", dE_total/d{bias} = sum over t of delta_t." if bias else "."))
    return intro, found


def _letters(refs: Any, *letters: tuple[str, Any, str]) -> tuple[tuple[str, Any], ...]:
    """A parameter's letters: no sample letter (where samples mix the sum over them is in the rule)."""
    return tuple((letter, values) for letter, values, _ in letters)
