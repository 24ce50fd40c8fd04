"""An rnn's rules for `explain --derive`: the recurrence, and backpropagation through time in index and matrix form."""

from __future__ import annotations

from typing import Any

from stepgrad.core import names
from stepgrad.formats.rule_forms import Expr, Num, Rule, Sum, plus, span, times
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
    """BPTT (full, or truncated to k steps): the signal at each state, delta_t, each shared weight's sum over t."""
    label, settings = layer["label"], layer["settings"]
    steps, features, hidden = _sizes(layer)
    wx, wh, bias = _stems(layer)
    source = refs.source(layer)
    h = lambda b: names.recurrent_value("h", label, b["t"], b["j"])  # noqa: E731
    net = lambda b: names.recurrent_value("net", label, b["t"], b["j"])  # noqa: E731
    delta = refs.signal(net)
    every = settings["output"] == "sequence"
    window = settings.get("truncate")
    local = refs.local(h, net)
    each = refs.domain(span("t", steps), span("j", hidden))
    written = derivative(settings["recurrent_activation"], refs.value(h), refs.value(net))
    found = [Rule(local, (written,), each)] if written is not None else []
    if window is not None and window < steps:
        found += _truncated(layer, refs, int(window))
    else:
        found += _full(layer, refs)
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
    delta_t, d_h = delta.text(), refs.signal(h).text()
    weights = [found[-4 - bool(bias)].lhs.text(), found[-3 - bool(bias)].lhs.text()] + (
        [found[-3].lhs.text()] if bias else [])
    if window is not None and window < steps:
        how = (f"truncated BPTT({window}): the error that enters at step e (from the layer above) goes back through "
               f"{window} step{'s' if window > 1 else ''} only, e down to e-{window - 1}; the terms full BPTT adds from "
               f"an error entering {window} or more steps after t are dropped, so each signal is a sum named for what "
               f"it is (never dE_total/d...), and the step uses these sums")
    else:
        how = ("full: every step's error goes back to step 1. Going back from the last step, the error signal "
               f"reaching the state at step t is what the layer above sends to it (above(...): "
               f"{'every step' if every else f'step {steps} only'} is passed on) plus what step t+1 sends back "
               f"through {wh}")
    intro = (f"The rules (backpropagation through time, {how}). delta_t ({delta_t}) is {d_h} times the activation's "
             f"derivative. The weights are shared by every step, so each one's sum has one term per time step: "
             f"{weights[0]} = sum over t of delta_t h_(t-1)^T in matrix form, {weights[1]} = sum over t of delta_t "
             f"x_t^T" + (f", {weights[2]} = sum over t of delta_t." if bias else "."))
    return intro, found


def _full(layer: Layer, refs: Any) -> list[Rule]:
    """Full BPTT: dE/dh[t] = above(h[t]) + sum over k of dE/dnet[t+1][k] Wh[k,j] (the last step: above only)."""
    label, every = layer["label"], layer["settings"]["output"] == "sequence"
    steps, _, hidden = _sizes(layer)
    wh = _stems(layer)[1]
    h = lambda b: names.recurrent_value("h", label, b["t"], b["j"])  # noqa: E731
    back = Sum("k", span("k", hidden)[1], span("k", hidden)[2],
               times(refs.signal(lambda b: names.recurrent_value("net", label, b["t"] + 1, b["k"])),
                     refs.shared(lambda b: names.with_position(wh, (b["k"], b["j"])))))
    above = refs.above(h)
    found = [Rule(refs.signal(h), (above,), refs.domain(("t", lambda _b: [steps], ""), span("j", hidden)),
                  f"at the last step, t: {steps}")]
    if steps > 1:
        earlier = refs.domain(("t", lambda _b: range(1, steps), ""), span("j", hidden))
        found.append(Rule(refs.signal(h), (plus(above, back) if every else back,), earlier,
                          f"for t in 1..{steps - 1}" + ("" if every else f": only h at step {steps} is passed on, so "
                                                                         "nothing comes from above before it")))
    return found


def _truncated(layer: Layer, refs: Any, window: int) -> list[Rule]:
    """BPTT(k): each entry e's part at the k steps it reaches, and each step's sum over the entries that reach it."""
    label, every = layer["label"], layer["settings"]["output"] == "sequence"
    steps, _, hidden = _sizes(layer)
    wh = _stems(layer)[1]
    entries = list(range(1, steps + 1)) if every else [steps]
    h = lambda b: names.recurrent_value("h", label, b["t"], b["j"])  # noqa: E731
    net = lambda b: names.recurrent_value("net", label, b["t"], b["j"])  # noqa: E731
    part_h, part_net = refs.part(h), refs.part(net)
    units = span("j", hidden)
    entry = ("e", lambda _b: entries, "")
    back = Sum("k", span("k", hidden)[1], span("k", hidden)[2],
               times(refs.part(lambda b: names.recurrent_value("net", label, b["t"] + 1, b["k"])),
                     refs.shared(lambda b: names.with_position(wh, (b["k"], b["j"])))))
    reach = ("t", lambda b: range(max(1, b["e"] - window + 1), b["e"] + 1), "")
    found = [Rule(part_h, (refs.above(h),), refs.domain(entry, ("t", lambda b: [b["e"]], ""), units),
                  "at t: e, where the error enters"),
             Rule(part_h, (back,), refs.domain(entry, ("t", lambda b: range(max(1, b["e"] - window + 1), b["e"]), ""),
                                               units),
                  f"for the {window - 1} step{'s' if window > 2 else ''} before e: {window} steps back at most"),
             Rule(part_net, (times(part_h, refs.local(h, net)),), refs.domain(entry, reach, units))]

    def reaching(b: Any) -> list[int]:
        return [e for e in entries if b["t"] <= e <= b["t"] + window - 1]

    reached = [t for t in range(1, steps + 1) if reaching({"t": t})]
    total = Sum("e", reaching, f"the entries e in t..t+{window - 1}" + ("" if every else f" (only e: {steps})"), part_h)
    found.append(Rule(refs.signal(h), (total,), refs.domain(("t", lambda _b: reached, ""), units),
                      f"dropped: the entries e >= t+{window}"))
    unreached = [t for t in range(1, steps + 1) if t not in reached]
    if unreached:
        found.append(Rule(refs.signal(h), (Num(0.0),), refs.domain(("t", lambda _b: unreached, ""), units),
                          f"for t in 1..{unreached[-1]}: no error enters within {window} steps after t"))
    return found


def _letters(refs: Any, *letters: tuple[str, Any, str]) -> tuple[tuple[str, Any], ...]:
    """A parameter's letters: no sample letter (where samples mix the sum over them is in the rule)."""
    return tuple((letter, values) for letter, values, _ in letters)
