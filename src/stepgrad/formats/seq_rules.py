"""The rules a sequence model's layers derive from (`explain --derive`): rnn, attention, layernorm, batchnorm.

Each layer's general formulas in index form before its numbers, with its conventions stated: an rnn's
recurrence and backpropagation through time (the error signal delta_t of each step, and each shared
weight's gradient as the sum over the steps of delta_t times what the weight met there; truncated BPTT's
window), an attention head's projections, scaled scores, row softmax and its Jacobian, output projection
and the way back; layer and batch normalization with their three paths (through xhat, the variance and the
mean), the variance estimator and the mode. Every rule is a formula tree (formats/rule_forms.py) whose
names are the trace's, so a test evaluates each one with a trace's numbers; nothing here computes a step.
"""

from __future__ import annotations

from typing import Any

from stepgrad.core import names
from stepgrad.formats.rule_forms import Expr, Rule, Sum, span, times
from stepgrad.formats.seq_rules_refs import Layer, Refs, activation, weighted

KINDS = ("rnn", "attention", "layernorm", "batchnorm")
Written = tuple[str, list[tuple[str, str]]]  # (the intro, [(text, LaTeX) of each rule]), as formats/maps_rules.py's


def rules(layer: Layer, meta: dict[str, Any], forward: bool) -> tuple[str, list[Rule]] | None:
    """(the intro, the rules) of a sequence layer's forward or backward pass; None for other layers."""
    if layer["kind"] not in (*KINDS, "dense"):
        return None
    from stepgrad.formats import seq_rules_attention, seq_rules_norm, seq_rules_rnn

    refs = Refs(meta)
    if layer["kind"] == "dense":
        intro, found = _dense(layer, refs, forward)
    else:
        module = {"rnn": seq_rules_rnn, "attention": seq_rules_attention}.get(layer["kind"], seq_rules_norm)
        intro, found = (module.forward if forward else module.backward)(layer, refs)
    if not forward:
        found += refs.batch(layer)
        if refs.samples > 1 and not refs.ctx.mixing:
            intro += (f" Each rule holds for each of the {refs.samples} samples (its quantities carry [s]); a parameter's "
                      f"gradient for the batch is the {'mean' if refs.mean else 'sum'} of the samples' (the last rules).")
        elif refs.ctx.mixing:
            intro += (" Batchnorm in training mode mixes the samples: every signal is the batch error's, by sample s's "
                      "quantity (dE_total/dq[s]), and a parameter's gradient adds up the samples' terms.")
    return intro, found


def written(layer: Layer, meta: dict[str, Any], forward: bool) -> Written | None:
    """The rules as text and LaTeX lines, for the explanation's blocks (formats/maps_seq.py)."""
    found = rules(layer, meta, forward)
    if found is None:
        return None
    intro, stated = found
    return intro, [(rule.text(), rule.latex()) for rule in stated]


def _dense(layer: Layer, refs: Refs, forward: bool) -> tuple[str, list[Rule]]:
    """A dense layer in a sequence model: on a sequence the same weights at every step t, so a weight's gradient is
    a sum over the steps; what it sends back to an rnn's state is only a part of that state's signal (above(...))."""
    label, stems, shape = layer["label"], layer["parameter_names"], [int(n) for n in layer["in_shape"]]
    units, width = int(layer["parameters"]["weight"][0]), shape[-1]
    steps = shape[0] if len(shape) == 2 else 0
    source = refs.source(layer)
    at = (lambda b, letter: (b["t"], b[letter])) if steps else (lambda b, letter: (b[letter],))
    x = refs.value(lambda b: source(at(b, "i")))
    net = lambda b: names.map_value("net", label, at(b, "j"))  # noqa: E731
    each = refs.domain(*([span("t", steps)] if steps else []), span("j", units))
    over = "the same weights at every step t, " if steps else ""
    if forward:
        found = [Rule(refs.value(net), (weighted(refs, stems["weight"], "j", "i", width, x, stems.get("bias")),), each)]
        written = activation(layer["activation"] or "linear",  refs.value(net))
        if written is not None:
            found.append(Rule(refs.value(lambda b: names.map_value("out", label, at(b, "j"))), (written,), each))
        return f"The rule ({over}a weighted sum and the activation).", found
    delta = refs.signal(net)

    def over_steps(body: Expr) -> Expr:
        return refs.over_samples(Sum("t", span("t", steps)[1], span("t", steps)[2], body) if steps else body)

    letters = ((("j", span("j", units)[1]), ("i", span("i", width)[1])))
    found = [Rule(refs.gradient(lambda b: names.with_position(stems["weight"], (b["j"], b["i"]))),
                  (over_steps(times(delta, x)),), letters)]
    if stems.get("bias"):
        found.append(Rule(refs.gradient(lambda b: names.with_position(stems["bias"], (b["j"],))), (over_steps(delta),),
                          letters[:1]))
    below = refs.layers.get(layer["input"]) if layer["input"] else None
    sent_to = refs.above if below is not None and below["kind"] == "rnn" else refs.signal
    found.append(Rule(sent_to(lambda b: source(at(b, "i"))),
                      (Sum("j", span("j", units)[1], span("j", units)[2],
                           times(delta, refs.shared(lambda b: names.with_position(stems["weight"], (b["j"], b["i"]))))),),
                      refs.domain(*([span("t", steps)] if steps else []), span("i", width))))
    return (f"The rules (the chain rule, as for the deck's w5; {over}so a weight's gradient is "
            + ("a sum over the steps)." if steps else "one product)."), found)
