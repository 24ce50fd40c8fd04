"""Truncated BPTT's backward steps for an rnn (truncate = k shorter than its sequence): sums named as sums, not derivatives.

BPTT(k), as the engine (core/layers/rnn.py) and PyTorch with the state detached k steps back compute it: the
error that the layer above sends to the state at step e (its entry) goes back through k steps only, e, e-1, ...,
e-k+1. Each entry's part is named for the sum it belongs to (core/names.truncated), so no line claims to be
dE_total/d...:

    bptt2e3_h1_t3[j]   = what the layer above sends to h1_t3[j]                      (the entry step)
    bptt2e3_h1_t2[j]   = sum over i of bptt2e3_net_h1_t3[i] * Wh1[i,j]                (one step back, the last: k = 2)
    bptt2e3_net_h1_t<t>[j] = bptt2e3_h1_t<t>[j] * dh1_t<t>[j]/dnet_h1_t<t>[j]
    bptt2_h1_t2[j]     = bptt2e2_h1_t2[j] + bptt2e3_h1_t2[j]                          (the entries k steps or fewer later)
    bptt2_net_h1_t2[j] = bptt2_h1_t2[j] * dh1_t2[j]/dnet_h1_t2[j]

and what full BPTT would add (the entries k steps or more after t) is dropped, as each line's note says. The
shared weights' sums (bptt2_Wh1[j,k] = sum over t of bptt2_net_h1_t<t>[j] * h1_t<t-1>[k]) are
layered_seq_backward.py's, written with these names.
"""

from __future__ import annotations

from typing import Any

from stepgrad.core import names
from stepgrad.core.functions import ACTIVATIONS, fill
from stepgrad.core.layers.rnn import Rnn
from stepgrad.core.trace import Step
from stepgrad.tracing import layered_backward as lb

_Builder = Any  # tracing/layered.py's builder


def intro(layer: Rnn) -> str:
    """The backward section's opening: the window, what is kept and what is dropped, the names."""
    k, steps, label = int(layer.truncate or 0), layer.in_shape[0], layer.label
    return (f"Truncated backpropagation through time, BPTT({k}): the error that the layer above sends to the state at "
            f"step e goes back through {k} step{'s' if k > 1 else ''} only (e, ..., e-{k - 1}), as PyTorch computes it "
            f"when the state is detached {k} steps back. The terms full BPTT adds, from an error {k} or more steps "
            f"later, are dropped, so these sums are not the derivatives of E_total: they are named bptt{k}_... "
            f"(bptt{k}_{names.recurrent_value('h', label, steps, 1)}; bptt{k}e<e>_... the part that entered at step e), "
            f"never dE_total/d..., and the update uses them (bptt{k}_Wh{layer.number}[j,k] in place of the gradient). "
            "The weights are shared by every step, so each one's sum has one term per time step.")


def entries(layer: Rnn) -> list[int]:
    """The steps (1-based) where the layer above sends an error: every step, or the last only."""
    steps = layer.in_shape[0]
    return list(range(1, steps + 1)) if layer.output == "sequence" else [steps]


def signals(b: _Builder, layer: Rnn, s: int, above: dict, from_loss: Any) -> list[Step]:
    """Sample s's truncated signals: each entry's part at the steps it reaches, then each step's sums."""
    cache = b.fwd.values[layer.label].cache
    label, tag, k = layer.label, b.tag(s), int(layer.truncate or 0)
    steps, act, scale = layer.in_shape[0], ACTIVATIONS[layer.recurrent_activation], b.signal_scale
    h = lambda t, j: names.at(names.recurrent_value("h", label, t, j + 1), tag)  # noqa: E731
    net = lambda t, j: names.at(names.recurrent_value("net", label, t, j + 1), tag)  # noqa: E731
    part = lambda kind, e, t, j: names.truncated(names.recurrent_value(kind, label, t, j + 1), k, tag, entry=e)  # noqa: E731
    out: list[Step] = []
    for t in range(steps, 0, -1):  # each step's local derivative first: every entry's part uses it
        for j in range(layer.hidden):
            out.append(b.step(names.partial(h(t, j), net(t, j)), cache["derivative"][s, t - 1, j], "partial",
                              fill(act.derivative_latex, out=f"«{h(t, j)}»", net=f"«{net(t, j)}»"),
                              fill(act.derivative_text, out=f"«{h(t, j)}»", net=f"«{net(t, j)}»"), subject=label))
    reached: dict[int, list[int]] = {t: [] for t in range(1, steps + 1)}
    for e in reversed(entries(layer)):
        for t in range(e, max(1, e - k + 1) - 1, -1):
            reached[t].append(e)
            for j in range(layer.hidden):
                if t == e:
                    position = (j,) if layer.output == "last" else (t - 1, j)
                    latex, text = from_loss(position) or lb._products(list(above.get(position, [])))
                    note = f"step {e}'s error enters: what the layer above sends to step {e}" if j == 0 else ""
                else:
                    latex, text = lb._products([(part("net", e, t + 1, i), layer.parameter_name("weight_h", (i + 1, j + 1)),
                                                 1.0) for i in range(layer.hidden)])
                    last = t == e - k + 1
                    note = (f"step {e}'s error, back from step {t + 1} through Wh" + (
                        f"; it stops here: k = {k} steps back from step {e}" if last else "")) if j == 0 else ""
                out.append(b.step(part("h", e, t, j), scale * cache["parts"][(e - 1, t - 1)][s, j], "partial",
                                  latex, text, subject=label, note=note))
            for j in range(layer.hidden):
                local = names.partial(h(t, j), net(t, j))
                value = cache["parts"][(e - 1, t - 1)][s, j] * cache["derivative"][s, t - 1, j]
                out.append(b.step(part("net", e, t, j), scale * value, "delta", rf"«{part('h', e, t, j)}» \cdot «{local}»",
                                  f"«{part('h', e, t, j)}» * «{local}»", subject=label))
    for t in range(steps, 0, -1):
        came = sorted(reached[t])
        dropped = [e for e in entries(layer) if e >= t + k]
        for j in range(layer.hidden):
            terms = [part("h", e, t, j) for e in came]
            latex = text = " + ".join(f"«{name}»" for name in terms) or "0"
            note = ""
            if j == 0:
                note = (f"the errors entering at step{'s' if len(came) > 1 else ''} {', '.join(map(str, came))}"
                        if came else "no error reaches this step within k steps")
                if dropped:
                    note += (f"; dropped (truncated, k = {k}): what enters at step{'s' if len(dropped) > 1 else ''} "
                             f"{', '.join(map(str, dropped))}, {k} or more steps later")
            out.append(b.step(b.signal(names.recurrent_value("h", label, t, j + 1), s), scale * cache["d_h"][s, t - 1, j],
                              "partial", latex, text, subject=label, note=note))
        for j in range(layer.hidden):
            local = names.partial(h(t, j), net(t, j))
            d_h = b.signal(names.recurrent_value("h", label, t, j + 1), s)
            out.append(b.step(b.signal(names.recurrent_value("net", label, t, j + 1), s),
                              scale * cache["d_net"][s, t - 1, j], "delta", rf"«{d_h}» \cdot «{local}»",
                              f"«{d_h}» * «{local}»", subject=label))
    return out
