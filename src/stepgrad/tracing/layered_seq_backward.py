"""The backward steps of a sequence model's layers (rnn, attention, layernorm, batchnorm): tracing/layered_seq.py's twin.

rnn: backpropagation through time from the last step, each dE_total/dh1_t<t> the sum of what the layer above
sends to step t and what step t+1 sends back through Wh; each weight's gradient as BPTT's plan, one term per
time step (the Step's paths hold each step's contribution), and their sum. attention: back through the output
projection, z, the softmax's Jacobian once per score, to the queries, keys and values. layernorm / batchnorm:
dE_total/dxhat, then the variance's and the mean's error signals (the three paths meet in the layer below).
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache as memo
from typing import Any

import numpy as np

from stepgrad.core import names
from stepgrad.core.functions import ACTIVATIONS, LOSSES, fill
from stepgrad.core.layers.attention import Attention
from stepgrad.core.layers.base import Layer
from stepgrad.core.layers.norm import BatchNorm, LayerNorm, Norm
from stepgrad.core.layers.rnn import Rnn
from stepgrad.core.layers.values import positions
from stepgrad.core.trace import Path, Step
from stepgrad.tracing import layered_backward as lb
from stepgrad.tracing.layered_seq import (
    bare_xhat,
    consumer_terms,
    norm_groups,
    slot,
    statistic,
    statistic_signal,
)

_Builder = Any  # tracing/layered.py's builder
Index = tuple[int, ...]

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


def _from_loss(b: _Builder, layer: Layer, s: int, index: Index) -> tuple[str, str] | None:
    """The loss's derivative at position `index` of the out of the network's last layer (latex, text); None for
    any other layer (its signal is what the layers above send)."""
    if layer is not b.net.layers[-1]:
        return None
    loss = LOSSES[b.net.loss]
    roles = dict(out=slot(b.value_name(layer.label, index, s)), target=slot(b.value_name(layer.label, index, s, "target")),
                 net=slot(b.value_name(layer.label, index, s, "net")), n=str(int(np.prod(layer.out_shape))))
    return lb.divided(fill(loss.gradient_latex, **roles), fill(loss.gradient_text, **roles),
                      round(1 / (b.net.loss_scale * b.signal_scale)))


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
    return [Step(b.gradient_name(name, b.tag(s)), float(grads[(s, *index)]), "gradient", latex, text,
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
    if not layer.exact_gradients:  # truncated BPTT: each entry's part, then the sums (layered_seq_truncated.py)
        from stepgrad.tracing.layered_seq_truncated import signals

        out = signals(b, layer, s, above, lambda position: _from_loss(b, layer, s, position))
    for t in range(steps_count, 0, -1) if layer.exact_gradients else ():
        for k in range(layer.hidden):
            position = (k,) if layer.output == "last" else (t - 1, k)
            sent = list(above.get(position, [])) if layer.output == "sequence" or t == steps_count else []
            back: list[lb.Term] = [(d_net(t + 1, j), layer.parameter_name("weight_h", (j + 1, k + 1)), 1.0)
                                   for j in range(layer.hidden)] if t < steps_count else []
            loss = _from_loss(b, layer, s, position) if layer.output == "sequence" or t == steps_count else None
            latex, text = lb._products(sent + back)
            if loss is not None:  # the network's last layer: the loss's derivative, plus what comes back through Wh
                latex, text = (loss[0] + " + " + latex, loss[1] + " + " + text) if back else loss
            parts = ((["from the loss"] if loss else ["from the layer above"]) if sent or loss else []) + (
                [f"back from step {t + 1} through Wh"] if back else [])
            note = " + ".join(parts) if k == 0 else ""
            if not sent and loss is None and layer.output == "last":
                note = (f"only h at step {steps_count} is passed on: nothing from above at step {t}; " if k == 0 else "") + (
                    note if k == 0 else "")
            out.append(b.step(d_h(t, k), scale * cache["d_h"][s, t - 1, k], "partial", latex, text, subject=label,
                              note=note.rstrip("; ")))
        for k in range(layer.hidden):
            local = names.partial(h(t, k), net(t, k))
            out.append(b.step(local, cache["derivative"][s, t - 1, k], "partial",
                              fill(act.derivative_latex, out=slot(h(t, k)), net=slot(net(t, k))),
                              fill(act.derivative_text, out=slot(h(t, k)), net=slot(net(t, k))), subject=label))
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
            bptt = "BPTT" if layer.exact_gradients else f"BPTT({layer.truncate}), truncated (a sum, not the derivative)"
            note = (f"{bptt}: the same parameter at each of the {steps_count} steps, one term per step t: the error "
                    f"signal of net at step t times what it multiplied there ({what})")
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
            loss = _from_loss(b, layer, s, position) if layer.output == "sequence" or i == steps_count - 1 else None
            latex, text = loss or (lb._products(list(sent)) if sent else ("0", "0"))
            note = "" if sent or loss else f"only the last position's out is passed on: nothing reaches out at position {i + 1}"
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
    groups = norm_groups(layer, b)
    v = b.fwd.values[label]
    out: list[Step] = []
    xhat = memo(lambda index, s: names.norm_value("xhat", label, tuple(i + 1 for i in index), b.tag(s)))  # noqa: E731  (names built once)
    for s in range(b.samples):
        above = _from_above(b, layer, s)
        for _, index in positions(layer.out_shape):
            latex, text = _from_loss(b, layer, s, index) or lb._products(above.get(index, []))
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
                latex = text = slot(d_out)
            out.append(b.step(name, scale * cache["d_xhat"][(s, *index)], "partial", latex, text, subject=label))
    if training:
        d_stats = {which: layer._named(which, cache[f"d_{which}"]) for which in ("mu", "var")}
        for group, members in groups:
            s0 = members[0][0]
            mu, var = statistic(b, layer, "mu", group, s0), statistic(b, layer, "var", group, s0)
            row = s0 if isinstance(layer, LayerNorm) else 0
            at = (row, *(g - 1 for g in group))
            divide = len(members) if layer.variance == "biased" else len(members) - 1
            d_var, d_mu = statistic_signal(b, layer, "var", group, s0), statistic_signal(b, layer, "mu", group, s0)
            sum_l = " + ".join(rf"«{b.signal(bare_xhat(label, i), s)}» \cdot («{b.value_name(source, i, s)}» - «{mu}»)"
                               for s, i in members)
            sum_t = " + ".join(f"«{b.signal(bare_xhat(label, i), s)}» * («{b.value_name(source, i, s)}» - «{mu}»)"
                               for s, i in members)
            out.append(b.step(d_var, scale * d_stats["var"][at], "partial",
                              rf"\left({sum_l}\right) \cdot \left(-\frac{{1}}{{2}}\right) («{var}» + {eps})^{{-3/2}}",
                              f"({sum_t}) * (-0.5) * («{var}» + {eps})^(-1.5)", subject=label,
                              note="the variance's path: every xhat of the group divides by sqrt(var + eps)"))
            first_l = " + ".join(slot(b.signal(bare_xhat(label, i), s)) for s, i in members)
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
