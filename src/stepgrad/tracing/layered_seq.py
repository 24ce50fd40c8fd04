"""The trace of a sequence model's layers: an rnn unrolled through time, an attention head, layer and batch normalization.

Each quantity is named as core/layers/values.py names it (h1_t2[1], q_a1[2,1], xhat_n1[3][2], ...) and
written with its formula in «name» slots, so that every line is name = formula = numbers = value:

- rnn: forward step by step (net_h1_t<t>, h1_t<t>); backward through time from the last step, each
  dE_total/dh1_t<t> the sum of what the layer above sends to step t and what step t+1 sends back
  through Wh; each weight's gradient as BPTT's plan, one term per time step (the Step's paths hold each
  step's contribution), and their sum.
- attention: q, k, v, the scores (scaled by 1/sqrt(d_k) or not), the softmax over the keys (a row of a
  adds to 1; a causal mask leaves out the keys after the query), z and out; backward through the softmax's
  Jacobian once per score.
- layernorm / batchnorm: mu, var, xhat, out; backward along the three paths (through xhat, var and mu).

Values are the engine's (core/layers); this module only names them and writes the formulas.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache as memo
from typing import Any

from stepgrad.core import names
from stepgrad.core.functions import ACTIVATIONS, fill
from stepgrad.core.layers.attention import Attention
from stepgrad.core.layers.base import Layer
from stepgrad.core.layers.norm import BatchNorm, LayerNorm, Norm
from stepgrad.core.layers.rnn import Rnn
from stepgrad.core.layers.values import positions
from stepgrad.core.trace import Path, Step
from stepgrad.tracing import layered_backward as lb

SEQUENCE_LAYERS = (Rnn, Attention, Norm)
_Builder = Any  # tracing/layered.py's builder
Index = tuple[int, ...]

FORWARD_INTROS = {
    Rnn: "The layer runs over the sequence one step at a time with the same weights: at step t each unit adds its "
         "weighted inputs x[t], its weighted states of the step before h[t-1] and its bias (net), then the "
         "activation gives the new state h[t].",
    Attention: "Each position asks (its query q) how well every key k matches: the scores q·k (scaled), a softmax "
               "over the keys turns a row of scores into weights a that add to 1, and the output at a position is "
               "the weighted sum z of the values v, projected by Wo.",
    LayerNorm: "Each sample's features are shifted by their mean mu and divided by their standard deviation "
               "sqrt(var + eps) (xhat), then scaled by gamma and shifted by beta.",
    BatchNorm: "Each feature is shifted by its mean mu over the batch and divided by its standard deviation "
               "sqrt(var + eps) (xhat), then scaled by gamma and shifted by beta.",
}
BACKWARD_INTROS = {
    Rnn: "Backpropagation through time: from the last step back to the first, the error signal reaching the state "
         "h[t] is what the layer above sends to step t plus what step t+1 sends back through Wh. The weights are "
         "shared by every step, so each weight's gradient is the sum of one term per time step.",
    Attention: "Back through the output projection to z, from z to the weights a and the values v, through the "
               "softmax (its Jacobian: a[i,j] times (dE/da[i,j] minus the a-weighted mean of the row's dE/da)) to "
               "the scores, and from the scores to the queries and keys.",
    LayerNorm: "The gradient reaches each input along three paths that add up: through its own xhat, through the "
               "variance and through the mean (every xhat of the group depends on both).",
    BatchNorm: "The gradient reaches each input along three paths that add up: through its own xhat, through the "
               "variance and through the mean (every xhat of the group depends on both).",
}


def _slot(name: str) -> str:
    return f"«{name}»"


def _sum(pairs: list[tuple[str, str]], extra: list[str] | None = None) -> tuple[str, str]:
    """LaTeX and text of sum of a * b over named pairs, plus named extras (biases)."""
    extra = extra or []
    latex = [rf"«{a}» \cdot «{b}»" for a, b in pairs] + [_slot(e) for e in extra]
    text = [f"«{a}» * «{b}»" for a, b in pairs] + [_slot(e) for e in extra]
    return " + ".join(latex) or "0", " + ".join(text) or "0"


def passed_on(layer: Layer, index: Index) -> str:
    """The name of what an rnn or attention layer passes on at `index` (0-based, its out shape; no sample):
    an rnn's h1_t<T>[j] (last) or h1_t<t>[j] (sequence); an attention head's out_a1[T,o] (last) or out_a1[i,o]."""
    steps = layer.in_shape[0]
    step, unit = (steps - 1, index[0]) if len(index) == 1 else index
    if isinstance(layer, Rnn):
        return names.recurrent_value("h", layer.label, step + 1, unit + 1)
    return names.attention_value("out", layer.label, (step + 1, unit + 1))


# -- forward -----------------------------------------------------------------------------------------
def forward_steps(b: _Builder, layer: Layer) -> list[Step]:
    """The forward steps of a sequence layer, sample by sample (batchnorm: its batch statistics first)."""
    if isinstance(layer, Rnn):
        return [st for s in range(b.samples) for st in _rnn_forward(b, layer, s)]
    if isinstance(layer, Attention):
        return [st for s in range(b.samples) for st in _attention_forward(b, layer, s)]
    assert isinstance(layer, Norm)
    return _norm_forward(b, layer)


def _rnn_forward(b: _Builder, layer: Rnn, s: int) -> list[Step]:
    cache = b.fwd.values[layer.label].cache
    tag, label, act = b.tag(s), layer.label, ACTIVATIONS[layer.recurrent_activation]
    source = b.producer[label]
    steps = []
    start = layer.initial()
    for k in range(layer.hidden):
        steps.append(b.step(names.at(names.recurrent_value("h", label, 0, k + 1), tag), start[k], "given",
                            subject=label, note="the initial state: h0 = 0" if layer.h0 is None else "the initial state: h0 as given"))
    for t in range(1, layer.in_shape[0] + 1):
        for j in range(layer.hidden):
            pairs = [(layer.parameter_name("weight_x", (j + 1, i + 1)), b.value_name(source, (t - 1, i), s))
                     for i in range(layer.in_shape[1])]
            pairs += [(layer.parameter_name("weight_h", (j + 1, k + 1)),
                       names.at(names.recurrent_value("h", label, t - 1, k + 1), tag)) for k in range(layer.hidden)]
            bias = [layer.parameter_name("bias", (j + 1,))] if "bias" in layer.params else []
            latex, text = _sum(pairs, bias)
            steps.append(b.step(names.at(names.recurrent_value("net", label, t, j + 1), tag), cache["net"][s, t - 1, j],
                                "net", latex, text, subject=label,
                                note=f"step {t}: the inputs x[{t}] and the states of step {t - 1}" if j == 0 else ""))
        for j in range(layer.hidden):
            net = _slot(names.at(names.recurrent_value("net", label, t, j + 1), tag))
            steps.append(b.step(names.at(names.recurrent_value("h", label, t, j + 1), tag), cache["h"][s, t - 1, j],
                                "out", fill(act.latex, net=net, sum_exp=""), fill(act.text, net=net, sum_exp=""),
                                subject=label))
    return steps


def _attention_forward(b: _Builder, layer: Attention, s: int) -> list[Step]:
    cache = b.fwd.values[layer.label].cache
    tag, label = b.tag(s), layer.label
    source = b.producer[label]
    steps_count, features = layer.in_shape
    value = memo(lambda which, *p: names.at(names.attention_value(which, label, tuple(i + 1 for i in p)), tag))  # noqa: E731  (names built once)
    steps = []
    for role in ("q", "k", "v"):
        size = layer.params[f"weight_{role}"].shape[0]
        for i in range(steps_count):
            for m in range(size):
                pairs = [(layer.parameter_name(f"weight_{role}", (m + 1, c + 1)), b.value_name(source, (i, c), s))
                         for c in range(features)]
                bias = [layer.parameter_name(f"bias_{role}", (m + 1,))] if f"bias_{role}" in layer.params else []
                latex, text = _sum(pairs, bias)
                steps.append(b.step(value(role, i, m), cache[role][s, i, m], "net", latex, text, subject=label))
    masked = cache["mask"]
    key_size = layer.params["weight_k"].shape[0]
    for i in range(steps_count):
        for j in range(steps_count):
            if masked[i, j]:
                continue
            latex, text = _sum([(value("q", i, m), value("k", j, m)) for m in range(key_size)])
            if layer.scaled:
                latex, text = rf"\frac{{{latex}}}{{\sqrt{{{key_size}}}}}", f"({text}) / sqrt({key_size})"
            note = (f"scaled by 1/sqrt(d_k) = 1/sqrt({key_size})" if layer.scaled else "not scaled") if (i, j) == (0, 0) else ""
            steps.append(b.step(value("score", i, j), cache["score"][s, i, j], "net", latex, text, subject=label, note=note))
    for i in range(steps_count):
        keys = [j for j in range(steps_count) if not masked[i, j]]
        below_l = " + ".join(rf"e^{{«{value('score', i, j)}»}}" for j in keys)
        below_t = " + ".join(f"exp(«{value('score', i, j)}»)" for j in keys)
        for j in keys:
            note = ("softmax over the keys j of row i (the row adds to 1)"
                    + (f"; keys after {i + 1} are masked (a = 0)" if len(keys) < steps_count else "")) if j == 0 else ""
            steps.append(b.step(value("a", i, j), cache["a"][s, i, j], "out",
                                rf"\frac{{e^{{«{value('score', i, j)}»}}}}{{{below_l}}}",
                                f"exp(«{value('score', i, j)}») / ({below_t})", subject=label, note=note))
    value_size = layer.params["weight_v"].shape[0]
    for i in range(steps_count):
        keys = [j for j in range(steps_count) if not masked[i, j]]
        for c in range(value_size):
            latex, text = _sum([(value("a", i, j), value("v", j, c)) for j in keys])
            steps.append(b.step(value("z", i, c), cache["z"][s, i, c], "net", latex, text, subject=label))
    for i in range(steps_count):
        for o in range(layer.params["weight_o"].shape[0]):
            pairs = [(layer.parameter_name("weight_o", (o + 1, c + 1)), value("z", i, c)) for c in range(value_size)]
            bias = [layer.parameter_name("bias_o", (o + 1,))] if "bias_o" in layer.params else []
            latex, text = _sum(pairs, bias)
            steps.append(b.step(value("out", i, o), cache["out"][s, i, o], "out", latex, text, subject=label))
    return steps


def _groups(layer: Norm, b: _Builder) -> list[tuple[Index, list[tuple[int, Index]]]]:
    """Each group's 1-based position (as mu_n1[...] names it) and its members (sample, 0-based index)."""
    shape = layer.in_shape
    found: dict[Index, list[tuple[int, Index]]] = defaultdict(list)
    for s in range(b.samples):
        for _, index in positions(shape):
            if isinstance(layer, LayerNorm):  # the features of one sample (at one step of a sequence)
                group: Index = tuple(i + 1 for i in index[:-1]) or (1,)
                found[(s, *group)].append((s, index))
            else:  # batchnorm: a feature (a vector's) or a channel (a 1-d map's) over the batch
                found[(index[0] + 1,)].append((s, index))
    if isinstance(layer, LayerNorm):
        return [(key[1:], members) for key, members in found.items()]
    return list(found.items())


def _stat(b: _Builder, layer: Norm, which: str, group: Index, s: int) -> str:
    """mu or var of a group: layernorm's per sample (mu_n1[1][2]), batchnorm's for the batch (mu_n1[1])."""
    if isinstance(layer, BatchNorm):
        if layer.mode == "evaluation":
            return names.norm_value("running_mean" if which == "mu" else "running_var", layer.label, group)
        return names.norm_value(which, layer.label, group)
    return names.norm_value(which, layer.label, group, b.tag(s))


def _norm_forward(b: _Builder, layer: Norm) -> list[Step]:
    cache = b.fwd.values[layer.label].cache
    label, source = layer.label, b.producer[layer.label]
    steps: list[Step] = []
    training = cache["batch"]
    eps = repr(layer.eps)
    groups = _groups(layer, b)
    if isinstance(layer, BatchNorm):
        for which in ("running_mean", "running_var"):
            for f in range(layer.running_mean.shape[0]):
                steps.append(b.step(names.norm_value(which, label, (f + 1,)), getattr(layer, which)[f], "given",
                                    subject=label, note="" if f else (
                                        "the running statistics (evaluation mode normalizes with them)" if not training
                                        else "the running statistics (this step moves them; it normalizes with the batch's)")))
    stat_values = {which: layer._named(which, cache[which]) for which in ("mu", "var")} if training else {}
    for group, members in groups:
        s0 = members[0][0]
        xs = [b.value_name(source, index, s) for s, index in members]
        size, divide = len(members), len(members) if layer.variance == "biased" else len(members) - 1
        if not training:
            continue
        mu, var = _stat(b, layer, "mu", group, s0), _stat(b, layer, "var", group, s0)
        row = s0 if isinstance(layer, LayerNorm) else 0
        at = (row, *(g - 1 for g in group))
        steps.append(b.step(mu, stat_values["mu"][at], "net", rf"\frac{{1}}{{{size}}} \left({' + '.join(map(_slot, xs))}\right)",
                            f"({' + '.join(map(_slot, xs))}) / {size}", subject=label,
                            note=f"the mean of the {size} values of the group"))
        squares_l = " + ".join(rf"(«{x}» - «{mu}»)^2" for x in xs)
        squares_t = " + ".join(f"(«{x}» - «{mu}»)^2" for x in xs)
        steps.append(b.step(var, stat_values["var"][at], "net", rf"\frac{{1}}{{{divide}}} \left({squares_l}\right)",
                            f"({squares_t}) / {divide}", subject=label,
                            note=f"the {layer.variance} variance: divided by {divide}"
                                 + (" (N, as PyTorch normalizes)" if layer.variance == "biased" else " (N - 1)")))
    for s in range(b.samples):
        for group, members in groups:
            for s_, index in members:
                if s_ != s:
                    continue
                x = b.value_name(source, index, s)
                mu, var = _stat(b, layer, "mu", group, s), _stat(b, layer, "var", group, s)
                xhat = names.norm_value("xhat", label, tuple(i + 1 for i in index), b.tag(s))
                steps.append(b.step(xhat, cache["xhat"][(s, *index)], "net",
                                    rf"\frac{{«{x}» - «{mu}»}}{{\sqrt{{«{var}» + {eps}}}}}",
                                    f"(«{x}» - «{mu}») / sqrt(«{var}» + {eps})", subject=label))
        out_values = b.fwd.values[label].out
        for _, index in positions(layer.out_shape):
            xhat = names.norm_value("xhat", label, tuple(i + 1 for i in index), b.tag(s))
            name = b.value_name(label, index, s)
            if "gamma" in layer.params:
                f = (index[-1] if isinstance(layer, LayerNorm) else index[0]) + 1
                gamma, beta = names.norm_parameter("gamma", label, (f,)), names.norm_parameter("beta", label, (f,))
                latex, text = rf"«{gamma}» \cdot «{xhat}» + «{beta}»", f"«{gamma}» * «{xhat}» + «{beta}»"
            else:
                latex = text = _slot(xhat)
            steps.append(b.step(name, out_values[(s, *index)], "out", latex, text, subject=label))
    if isinstance(layer, BatchNorm) and training:
        new = layer.running_after(cache)
        momentum = repr(layer.momentum)
        size = len(groups[0][1])
        for f in range(layer.running_mean.shape[0]):
            group = (f + 1,)
            old_mean, old_var = (names.norm_value(w, label, group) for w in ("running_mean", "running_var"))
            mu, var = names.norm_value("mu", label, group), names.norm_value("var", label, group)
            steps.append(b.step(names.norm_value("running_mean", label, group, after=True), new["running_mean"][f], "update",
                                rf"(1 - {momentum}) \cdot «{old_mean}» + {momentum} \cdot «{mu}»",
                                f"(1 - {momentum}) * «{old_mean}» + {momentum} * «{mu}»", subject=label,
                                note="" if f else f"momentum {layer.momentum:g}, as PyTorch"))
            if layer.variance == "biased":
                latex = rf"(1 - {momentum}) \cdot «{old_var}» + {momentum} \cdot «{var}» \cdot \frac{{{size}}}{{{size - 1}}}"
                text = f"(1 - {momentum}) * «{old_var}» + {momentum} * «{var}» * {size} / {size - 1}"
            else:
                latex = rf"(1 - {momentum}) \cdot «{old_var}» + {momentum} \cdot «{var}»"
                text = f"(1 - {momentum}) * «{old_var}» + {momentum} * «{var}»"
            steps.append(b.step(names.norm_value("running_var", label, group, after=True), new["running_var"][f], "update",
                                latex, text, subject=label,
                                note="" if f else "moved with the unbiased variance of the batch (N - 1), as PyTorch"))
    return steps


# -- backward ----------------------------------------------------------------------------------------
def backward_steps(b: _Builder, layer: Layer) -> list[Step]:
    """The backward steps of a sequence layer, sample by sample, then its parameters' batch gradients."""
    collected: dict[str, list[lb.Term]] = defaultdict(list)
    steps: list[Step] = []
    if isinstance(layer, Norm):
        steps = _norm_backward(b, layer, collected)
    elif isinstance(layer, Rnn):
        steps = [st for s in range(b.samples) for st in _rnn_backward(b, layer, s, collected)]
    else:
        assert isinstance(layer, Attention)
        steps = [st for s in range(b.samples) for st in _attention_backward(b, layer, s, collected)]
    return steps + lb.batch_gradients(b, layer, collected)


def _from_above(b: _Builder, layer: Layer, s: int) -> dict[Index, list[lb.Term]]:
    """What the layers reading this layer's out send back, by position of its out."""
    return lb.incoming(b, layer.label, s)


def _gradient(b: _Builder, layer: Layer, role: str, index: Index, s: int, terms: list[tuple[str, str | None, float]],
              collected: dict[str, list[lb.Term]], note: str = "") -> list[Step]:
    """Sample s's gradient of one parameter entry as the sum of its terms, each term's value a Path (samples mixed:
    the terms are collected for the batch gradient)."""
    name = b.parameter(layer, role, index)
    if b.mixing:
        collected[name] += terms
        return []
    grads = b.fwd.values[layer.label].sample_grads[role]
    latex, text = lb._products(terms)  # type: ignore[arg-type]
    values = b.trace_values
    paths = tuple(Path((up,) if factor is None else (up, factor), values[up] * (1.0 if factor is None else values[factor]))
                  for up, factor, _ in terms)
    return [Step(names.gradient(name, b.tag(s)), float(grads[(s, *index)]), "gradient", latex, text,
                 factors=tuple(t[0] for t in terms), paths=paths, path_count=len(paths), subject=name, note=note)]


def _rnn_backward(b: _Builder, layer: Rnn, s: int, collected: dict[str, list[lb.Term]]) -> list[Step]:
    cache = b.fwd.values[layer.label].cache
    tag, label, act = b.tag(s), layer.label, ACTIVATIONS[layer.recurrent_activation]
    above = _from_above(b, layer, s)
    steps_count, scale = layer.in_shape[0], b.signal_scale
    h = memo(lambda t, k: names.at(names.recurrent_value("h", label, t, k + 1), tag))  # noqa: E731  (names built once)
    net = memo(lambda t, k: names.at(names.recurrent_value("net", label, t, k + 1), tag))  # noqa: E731  (names built once)
    d_h = memo(lambda t, k: b.signal(names.recurrent_value("h", label, t, k + 1), s))  # noqa: E731  (names built once)
    d_net = memo(lambda t, k: b.signal(names.recurrent_value("net", label, t, k + 1), s))  # noqa: E731  (names built once)
    out: list[Step] = []
    for t in range(steps_count, 0, -1):
        for k in range(layer.hidden):
            position = (k,) if layer.output == "last" else (t - 1, k)
            sent = list(above.get(position, [])) if layer.output == "sequence" or t == steps_count else []
            back: list[lb.Term] = [(d_net(t + 1, j), layer.parameter_name("weight_h", (j + 1, k + 1)), 1.0)
                                   for j in range(layer.hidden)] if t < steps_count else []
            latex, text = lb._products(sent + back)
            parts = (["from the layer above"] if sent else []) + ([f"back from step {t + 1} through Wh"] if back else [])
            note = " + ".join(parts) if k == 0 else ""
            if not sent and layer.output == "last":
                note = (f"only h at step {steps_count} is passed on: nothing from above at step {t}; " if k == 0 else "") + (
                    note if k == 0 else "")
            out.append(b.step(d_h(t, k), scale * cache["d_h"][s, t - 1, k], "partial", latex, text, subject=label,
                              note=note.rstrip("; ")))
        for k in range(layer.hidden):
            local = names.partial(h(t, k), net(t, k))
            out.append(b.step(local, cache["derivative"][s, t - 1, k], "partial",
                              fill(act.derivative_latex, out=_slot(h(t, k)), net=_slot(net(t, k))),
                              fill(act.derivative_text, out=_slot(h(t, k)), net=_slot(net(t, k))), subject=label))
            out.append(b.step(d_net(t, k), scale * cache["d_net"][s, t - 1, k], "delta",
                              rf"«{d_h(t, k)}» \cdot «{local}»", f"«{d_h(t, k)}» * «{local}»", subject=label))
    source = b.producer[label]
    for role, value in layer.params.items():
        for _, index in positions(value.shape):
            j = index[0]
            terms: list[tuple[str, str | None, float]] = []
            for t in range(1, steps_count + 1):
                if role == "weight_x":
                    terms.append((d_net(t, j), b.value_name(source, (t - 1, index[1]), s), 1.0))
                elif role == "weight_h":
                    terms.append((d_net(t, j), h(t - 1, index[1]), 1.0))
                else:
                    terms.append((d_net(t, j), None, 1.0))
            what = {"weight_x": f"x[t,{index[-1] + 1}]", "weight_h": f"h[t-1] unit {index[-1] + 1}",
                    "bias": "1"}[role]
            note = (f"BPTT: the same parameter at each of the {steps_count} steps, one term per step t: the error signal "
                    f"of net at step t times what it multiplied there ({what})")
            out += _gradient(b, layer, role, index, s, terms, collected, note)
    return out


def _attention_backward(b: _Builder, layer: Attention, s: int, collected: dict[str, list[lb.Term]]) -> list[Step]:
    cache = b.fwd.values[layer.label].cache
    tag, label, scale = b.tag(s), layer.label, b.signal_scale
    steps_count = layer.in_shape[0]
    masked = cache["mask"]
    value = memo(lambda which, *p: names.at(names.attention_value(which, label, tuple(i + 1 for i in p)), tag))  # noqa: E731  (names built once)
    signal = memo(lambda which, *p: b.signal(names.attention_value(which, label, tuple(i + 1 for i in p)), s))  # noqa: E731  (names built once)
    sizes = {role: layer.params[f"weight_{role}"].shape[0] for role in ("q", "k", "v", "o")}
    above = _from_above(b, layer, s)
    out: list[Step] = []

    def add(name: str, number: float, latex: str, text: str, note: str = "", kind: str = "partial") -> None:
        out.append(b.step(name, scale * number, kind, latex, text, subject=label, note=note))

    for i in range(steps_count):
        for o in range(sizes["o"]):
            position = (o,) if layer.output == "last" else (i, o)
            sent = above.get(position, []) if layer.output == "sequence" or i == steps_count - 1 else []
            latex, text = lb._products(list(sent)) if sent else ("0", "0")
            note = "" if sent else f"only the last position's out is passed on: nothing reaches out at position {i + 1}"
            add(signal("out", i, o), cache["d_out"][s, i, o], latex, text, note if o == 0 else "")
    for i in range(steps_count):
        for c in range(sizes["v"]):
            latex, text = lb._products([(signal("out", i, o), layer.parameter_name("weight_o", (o + 1, c + 1)), 1.0)
                                        for o in range(sizes["o"])])
            add(signal("z", i, c), cache["d_z"][s, i, c], latex, text)
    for i in range(steps_count):
        for j in range(steps_count):
            if not masked[i, j]:
                latex, text = lb._products([(signal("z", i, c), value("v", j, c), 1.0) for c in range(sizes["v"])])
                add(signal("a", i, j), cache["d_a"][s, i, j], latex, text)
    for j in range(steps_count):
        for c in range(sizes["v"]):
            queries = [i for i in range(steps_count) if not masked[i, j]]
            latex, text = lb._products([(signal("z", i, c), value("a", i, j), 1.0) for i in queries])
            add(signal("v", j, c), cache["d_v"][s, j, c], latex, text,
                "v[j] is weighted by a[i,j] in every z[i] that sees key j" if (j, c) == (0, 0) else "")
    for i in range(steps_count):
        keys = [j for j in range(steps_count) if not masked[i, j]]
        mean_l = " + ".join(rf"«{value('a', i, j)}» \cdot «{signal('a', i, j)}»" for j in keys)
        mean_t = " + ".join(f"«{value('a', i, j)}» * «{signal('a', i, j)}»" for j in keys)
        for j in keys:
            note = ("the softmax's Jacobian: da[i,j']/dscore[i,j] = a[i,j'] * ([j' = j] - a[i,j]), summed over the "
                    "row" if (i, j) == (0, 0) else "")
            add(signal("score", i, j), cache["d_score"][s, i, j],
                rf"«{value('a', i, j)}» \left(«{signal('a', i, j)}» - ({mean_l})\right)",
                f"«{value('a', i, j)}» * («{signal('a', i, j)}» - ({mean_t}))", note)
    key_size = sizes["k"]
    for role in ("q", "k"):
        for i in range(steps_count):
            for m in range(key_size):
                pairs = ([(signal("score", i, j), value("k", j, m), 1.0) for j in range(steps_count) if not masked[i, j]]
                         if role == "q" else
                         [(signal("score", j, i), value("q", j, m), 1.0) for j in range(steps_count) if not masked[j, i]])
                latex, text = lb._products(pairs)  # type: ignore[arg-type]
                if layer.scaled:
                    latex, text = rf"\frac{{{latex}}}{{\sqrt{{{key_size}}}}}", f"({text}) / sqrt({key_size})"
                note = ("the same 1/sqrt(d_k) as the scores" if layer.scaled else "") if (i, m) == (0, 0) else ""
                add(signal(role, i, m), cache[f"d_{role}"][s, i, m], latex, text, note)
    source = b.producer[label]
    for role in ("q", "k", "v", "o"):
        for key in (f"weight_{role}", f"bias_{role}"):
            if key not in layer.params:
                continue
            for _, index in positions(layer.params[key].shape):
                m = index[0]
                terms: list[tuple[str, str | None, float]] = []
                for i in range(steps_count):
                    if key.startswith("bias"):
                        terms.append((signal("out" if role == "o" else role, i, m), None, 1.0))
                    elif role == "o":
                        terms.append((signal("out", i, m), value("z", i, index[1]), 1.0))
                    else:
                        terms.append((signal(role, i, m), b.value_name(source, (i, index[1]), s), 1.0))
                first = index == (0,) * len(index)
                note = f"the same weights at each of the {steps_count} positions: one term per position" if first else ""
                out += _gradient(b, layer, key, index, s, terms, collected, note)
    return out


def _norm_backward(b: _Builder, layer: Norm, collected: dict[str, list[lb.Term]]) -> list[Step]:
    cache = b.fwd.values[layer.label].cache
    label, source, scale = layer.label, b.producer[layer.label], b.signal_scale
    training, eps = cache["batch"], repr(layer.eps)
    groups = _groups(layer, b)
    v = b.fwd.values[label]
    out: list[Step] = []
    xhat = memo(lambda index, s: names.norm_value("xhat", label, tuple(i + 1 for i in index), b.tag(s)))  # noqa: E731  (names built once)
    for s in range(b.samples):
        above = _from_above(b, layer, s)
        for _, index in positions(layer.out_shape):
            latex, text = lb._products(above.get(index, []))
            out.append(b.step(b.signal(names.map_value("out", label, tuple(i + 1 for i in index)), s),
                              scale * v.d_out[(s, *index)], "partial", latex, text, subject=label))
        for _, index in positions(layer.out_shape):
            d_out = b.signal(names.map_value("out", label, tuple(i + 1 for i in index)), s)
            name = b.signal(names.norm_value("xhat", label, tuple(i + 1 for i in index)), s)
            if "gamma" in layer.params:
                f = (index[-1] if isinstance(layer, LayerNorm) else index[0]) + 1
                gamma = names.norm_parameter("gamma", label, (f,))
                latex, text = rf"«{d_out}» \cdot «{gamma}»", f"«{d_out}» * «{gamma}»"
            else:
                latex = text = _slot(d_out)
            out.append(b.step(name, scale * cache["d_xhat"][(s, *index)], "partial", latex, text, subject=label))
    if training:
        d_stats = {which: layer._named(which, cache[f"d_{which}"]) for which in ("mu", "var")}
        for group, members in groups:
            s0 = members[0][0]
            mu, var = _stat(b, layer, "mu", group, s0), _stat(b, layer, "var", group, s0)
            row = s0 if isinstance(layer, LayerNorm) else 0
            at = (row, *(g - 1 for g in group))
            divide = len(members) if layer.variance == "biased" else len(members) - 1
            d_var, d_mu = _stat_signal(b, layer, "var", group, s0), _stat_signal(b, layer, "mu", group, s0)
            sum_l = " + ".join(rf"«{b.signal(_bare_xhat(label, i), s)}» \cdot («{b.value_name(source, i, s)}» - «{mu}»)"
                               for s, i in members)
            sum_t = " + ".join(f"«{b.signal(_bare_xhat(label, i), s)}» * («{b.value_name(source, i, s)}» - «{mu}»)"
                               for s, i in members)
            out.append(b.step(d_var, scale * d_stats["var"][at], "partial",
                              rf"\left({sum_l}\right) \cdot \left(-\frac{{1}}{{2}}\right) («{var}» + {eps})^{{-3/2}}",
                              f"({sum_t}) * (-0.5) * («{var}» + {eps})^(-1.5)", subject=label,
                              note="the variance's path: every xhat of the group divides by sqrt(var + eps)"))
            first_l = " + ".join(_slot(b.signal(_bare_xhat(label, i), s)) for s, i in members)
            dev_l = " + ".join(rf"(«{b.value_name(source, i, s)}» - «{mu}»)" for s, i in members)
            dev_t = " + ".join(f"(«{b.value_name(source, i, s)}» - «{mu}»)" for s, i in members)
            out.append(b.step(d_mu, scale * d_stats["mu"][at], "partial",
                              rf"-\frac{{{first_l}}}{{\sqrt{{«{var}» + {eps}}}}} + «{d_var}» \cdot "
                              rf"\frac{{-2 \left({dev_l}\right)}}{{{divide}}}",
                              f"-({first_l}) / sqrt(«{var}» + {eps}) + «{d_var}» * (-2 * ({dev_t})) / {divide}",
                              subject=label,
                              note="the mean's path: directly through every xhat, and through the variance (that second "
                                   "term is 0: the deviations add up to 0)"))
    if source is None:  # on the input: show the three paths into x (no earlier layer's section does)
        for s in range(b.samples):
            into = consumer_terms(b, layer, s)
            for _, index in positions(layer.in_shape):
                latex, text = lb._products(into[index])
                out.append(b.step(b.signal(names.map_value("input", names.INPUT_MAP, tuple(i + 1 for i in index)), s),
                                  scale * b.rec.d_input[(s, *index)], "partial", latex, text, subject=label,
                                  note="three paths: through xhat, the variance and the mean" if training and index == (0,) * len(index)
                                  else ""))
    for s in range(b.samples):
        for role in ("gamma", "beta"):
            if role not in layer.params:
                continue
            for f in range(layer.params[role].shape[0]):
                terms: list[tuple[str, str | None, float]] = []
                for _, index in positions(layer.out_shape):
                    if (index[-1] if isinstance(layer, LayerNorm) else index[0]) != f:
                        continue
                    d_out = b.signal(names.map_value("out", label, tuple(i + 1 for i in index)), s)
                    terms.append((d_out, xhat(index, s) if role == "gamma" else None, 1.0))
                out += _gradient(b, layer, role, (f,), s, terms, collected)
    return out


def _bare_xhat(label: str, index: Index) -> str:
    return names.norm_value("xhat", label, tuple(i + 1 for i in index))


def _stat_signal(b: _Builder, layer: Norm, which: str, group: Index, s: int) -> str:
    """dE_total/dmu or dE_total/dvar of a group: layernorm's per sample, batchnorm's the batch's."""
    if isinstance(layer, BatchNorm):
        return names.partial(names.TOTAL, names.norm_value(which, layer.label, group))
    return b.signal(names.norm_value(which, layer.label, group), s)


# -- what a sequence layer sends back to the layer before it ------------------------------------------
def consumer_terms(b: _Builder, layer: Layer, s: int) -> dict[Index, list[lb.Term]]:
    """For each position of this layer's input (0-based): the terms of dE_total/d(input) coming from it."""
    terms: dict[Index, list[lb.Term]] = defaultdict(list)
    if isinstance(layer, Rnn):
        for t in range(layer.in_shape[0]):
            for i in range(layer.in_shape[1]):
                for j in range(layer.hidden):
                    terms[(t, i)].append((b.signal(names.recurrent_value("net", layer.label, t + 1, j + 1), s),
                                          layer.parameter_name("weight_x", (j + 1, i + 1)), 1.0))
    elif isinstance(layer, Attention):
        for t in range(layer.in_shape[0]):
            for c in range(layer.in_shape[1]):
                for role in ("q", "k", "v"):
                    for m in range(layer.params[f"weight_{role}"].shape[0]):
                        terms[(t, c)].append((b.signal(names.attention_value(role, layer.label, (t + 1, m + 1)), s),
                                              layer.parameter_name(f"weight_{role}", (m + 1, c + 1)), 1.0))
    else:
        assert isinstance(layer, Norm)
        training, eps = b.fwd.values[layer.label].cache["batch"], repr(layer.eps)
        for group, members in _groups(layer, b):
            size, divide = len(members), len(members) if layer.variance == "biased" else len(members) - 1
            for s_, index in members:
                if s_ != s:
                    continue
                var, mu = _stat(b, layer, "var", group, s), _stat(b, layer, "mu", group, s)
                d_xhat = b.signal(_bare_xhat(layer.label, index), s)
                terms[index].append(lb.Raw(rf"\frac{{«{d_xhat}»}}{{\sqrt{{«{var}» + {eps}}}}}",
                                           f"«{d_xhat}» / sqrt(«{var}» + {eps})"))
                if training:
                    x = b.value_name(b.producer[layer.label], index, s)
                    d_var, d_mu = _stat_signal(b, layer, "var", group, s), _stat_signal(b, layer, "mu", group, s)
                    terms[index].append(lb.Raw(rf"«{d_var}» \cdot \frac{{2 («{x}» - «{mu}»)}}{{{divide}}}",
                                               f"«{d_var}» * 2 * («{x}» - «{mu}») / {divide}"))
                    terms[index].append(lb.Raw(rf"\frac{{«{d_mu}»}}{{{size}}}", f"«{d_mu}» / {size}"))
    return terms
