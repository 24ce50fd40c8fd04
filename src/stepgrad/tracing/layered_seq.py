"""The forward steps of a sequence model's layers (rnn, attention, layernorm, batchnorm), and what each sends back.

Each quantity is named as core/layers/values.py names it (h1_t2[1], q_a1[2,1], xhat_n1[3][2], ...) and
written with its formula in «name» slots, so that every line is name = formula = numbers = value:

- rnn: step by step, net_h1_t<t> from the inputs x[t] and the states of step t-1, then h1_t<t>.
- attention: q, k, v, the scores (scaled by 1/sqrt(d_k) or not), the softmax over the keys (a row of a
  adds to 1; a causal mask leaves out the keys after the query), z and out.
- layernorm / batchnorm: mu, var (biased or unbiased), xhat, out; batchnorm's running statistics moved.

`consumer_terms` gives what each of these layers sends back to the layer before it (an rnn through Wx, an
attention head through Wq, Wk and Wv, a normalization along its three paths); the backward steps are
layered_seq_backward.py's. Values are the engine's (core/layers); this module only names them and writes
the formulas.
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
from stepgrad.core.trace import Step
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

def slot(name: str) -> str:
    return f"«{name}»"


def _sum(pairs: list[tuple[str, str]], extra: list[str] | None = None) -> tuple[str, str]:
    """LaTeX and text of sum of a * b over named pairs, plus named extras (biases)."""
    extra = extra or []
    latex = [rf"«{a}» \cdot «{b}»" for a, b in pairs] + [slot(e) for e in extra]
    text = [f"«{a}» * «{b}»" for a, b in pairs] + [slot(e) for e in extra]
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
            net = slot(names.at(names.recurrent_value("net", label, t, j + 1), tag))
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


def norm_groups(layer: Norm, b: _Builder) -> list[tuple[Index, list[tuple[int, Index]]]]:
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


def statistic(b: _Builder, layer: Norm, which: str, group: Index, s: int) -> str:
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
    groups = norm_groups(layer, b)
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
        mu, var = statistic(b, layer, "mu", group, s0), statistic(b, layer, "var", group, s0)
        row = s0 if isinstance(layer, LayerNorm) else 0
        at = (row, *(g - 1 for g in group))
        steps.append(b.step(mu, stat_values["mu"][at], "net", rf"\frac{{1}}{{{size}}} \left({' + '.join(map(slot, xs))}\right)",
                            f"({' + '.join(map(slot, xs))}) / {size}", subject=label,
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
                mu, var = statistic(b, layer, "mu", group, s), statistic(b, layer, "var", group, s)
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
                latex = text = slot(xhat)
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


def bare_xhat(label: str, index: Index) -> str:
    return names.norm_value("xhat", label, tuple(i + 1 for i in index))


def statistic_signal(b: _Builder, layer: Norm, which: str, group: Index, s: int) -> str:
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
        for group, members in norm_groups(layer, b):
            size, divide = len(members), len(members) if layer.variance == "biased" else len(members) - 1
            for s_, index in members:
                if s_ != s:
                    continue
                var, mu = statistic(b, layer, "var", group, s), statistic(b, layer, "mu", group, s)
                d_xhat = b.signal(bare_xhat(layer.label, index), s)
                terms[index].append(lb.Raw(rf"\frac{{«{d_xhat}»}}{{\sqrt{{«{var}» + {eps}}}}}",
                                           f"«{d_xhat}» / sqrt(«{var}» + {eps})"))
                if training:
                    x = b.value_name(b.producer[layer.label], index, s)
                    d_var, d_mu = statistic_signal(b, layer, "var", group, s), statistic_signal(b, layer, "mu", group, s)
                    terms[index].append(lb.Raw(rf"«{d_var}» \cdot \frac{{2 («{x}» - «{mu}»)}}{{{divide}}}",
                                               f"«{d_var}» * 2 * («{x}» - «{mu}») / {divide}"))
                    terms[index].append(lb.Raw(rf"\frac{{«{d_mu}»}}{{{size}}}", f"«{d_mu}» / {size}"))
    return terms
