"""rnn: an Elman recurrent layer unrolled over the steps of a sequence, and the sequence shape it reads.

    net_h[t] = Wx · x[t] + Wh · h[t-1] + b          h[t] = act(net_h[t])          h[0] = h0 (zeros unless given)

Backpropagation through time (BPTT): going back from the last step, the gradient reaching h[t] is
what the layer above sends to h[t] (every step with `output = "sequence"`, the last only with
"last") plus what comes back from the next step, dE/dnet_h[t+1] · Wh. Each step then adds its
contribution to the shared weights, and the gradient of Wh is the sum over the steps:

    dE/dnet_h[t] = dE/dh[t] * act'(net_h[t])
    dE/dWh[j,k]  = sum over t of dE/dnet_h[t][j] * h[t-1][k]        (one term per time step)
    dE/dWx[j,i]  = sum over t of dE/dnet_h[t][j] * x[t][i]          dE/db[j] = sum over t of dE/dnet_h[t][j]

With `truncate = k` each gradient that enters at step t goes back through k steps only (t, t-1, ...,
t-k+1), as BPTT(k) does and as PyTorch does when h is detached k steps back from the loss: the
gradients are then the truncated sums (what training uses), no longer the derivatives, and are named
as such (dE_total~/dWh1[...]). Names: h1_t2[j] (the state of recurrent layer 1 at step 2, unit j),
net_h1_t2[j], Wx1[j,i], Wh1[j,k], bh1[j] (core/names.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad.core import names
from stepgrad.core.functions import activation
from stepgrad.core.layers.base import Array, Layer, Run, Shape

OUTPUTS = ("last", "sequence")
Nudge = tuple[str, tuple[int, int, int], float]  # ("net" or "h", (sample, step, unit) 0-based, step)


class Sequence(tuple):
    """A sample's shape (steps, features) that is a sequence of vectors, not a 1-d map: Sequence((3, 2))."""

    @property
    def steps(self) -> int:
        return int(self[0])

    @property
    def features(self) -> int:
        return int(self[1])


@dataclass
class Rnn(Layer):
    """An Elman layer: params "weight_x" (hidden, features), "weight_h" (hidden, hidden), "bias" (hidden,)
    unless bias = false; `recurrent_activation` inside the recurrence; `h0`; `output`; `truncate` (None: full BPTT)."""

    number: int = 1
    recurrent_activation: str = "tanh"
    h0: Array | None = None
    output: str = "last"
    truncate: int | None = None
    nudge: Nudge | None = None

    kind = "rnn"
    names_own_values = True

    @property
    def exact_gradients(self) -> bool:  # type: ignore[override]
        return self.truncate is None or self.truncate >= self.in_shape[0]  # a window of every step is full BPTT

    @property
    def hidden(self) -> int:
        return int(self.params["weight_h"].shape[0])

    def forward(self, x: Array, run: Run) -> tuple[Array, Any]:
        act = activation(self.recurrent_activation)
        count, steps = x.shape[0], x.shape[1]
        h_prev = np.broadcast_to(self.initial(), (count, self.hidden))
        nets, states = np.zeros((count, steps, self.hidden)), np.zeros((count, steps, self.hidden))
        for t in range(steps):
            z = x[:, t] @ self.params["weight_x"].T + h_prev @ self.params["weight_h"].T
            if "bias" in self.params:
                z = z + self.params["bias"]
            nets[:, t] = self._nudged("net", t, z)
            states[:, t] = h_prev = self._nudged("h", t, act.forward(nets[:, t]))
        cache = {"x": x, "net": nets, "h": states}
        return (states if self.output == "sequence" else states[:, -1]), cache

    def initial(self) -> Array:
        return np.zeros(self.hidden) if self.h0 is None else self.h0

    def _nudged(self, which: str, t: int, a: Array) -> Array:
        if self.nudge is None or self.nudge[0] != which or self.nudge[1][1] != t:
            return a
        a = a.copy()
        a[self.nudge[1][0], self.nudge[1][2]] += self.nudge[2]
        return a

    def backward(self, cache: Any, d_net: Array, run: Run) -> tuple[Array, dict[str, Array]]:
        x, nets, states = cache["x"], cache["net"], cache["h"]
        steps = x.shape[1]
        from_above = d_net if self.output == "sequence" else np.zeros_like(states)
        if self.output == "last":
            from_above[:, -1] = d_net
        derivative = activation(self.recurrent_activation).derivative(nets, states)  # type: ignore[misc]
        previous = np.concatenate([np.broadcast_to(self.initial(), states[:, :1].shape), states[:, :-1]], axis=1)
        # which injections reach each step: all (full BPTT), or those entering at most k-1 steps later
        window = steps if self.truncate is None else self.truncate
        d_h = np.zeros_like(states)  # dE/dh[t]: the total (full BPTT) or the truncated sum
        d_z = np.zeros_like(states)
        parts: dict[tuple[int, int], Array] = {}  # truncated: (entry step, step) -> what that entry sends to h[t]
        for enter in range(steps) if window < steps else [None]:
            carried = np.zeros_like(states[:, 0])
            last = steps - 1 if enter is None else enter
            first = 0 if enter is None else max(0, enter - window + 1)
            for t in range(last, first - 1, -1):
                inject = from_above[:, t] if enter is None or t == enter else 0.0
                here = inject + carried
                if enter is not None:
                    parts[(enter, t)] = here
                d_h[:, t] += here
                d_z[:, t] += here * derivative[:, t]
                carried = (here * derivative[:, t]) @ self.params["weight_h"]
        cache.update(d_h=d_h, d_net=d_z, derivative=derivative, parts=parts, from_above=from_above)
        grads = {"weight_x": np.einsum("ntj,nti->nji", d_z, x), "weight_h": np.einsum("ntj,ntk->njk", d_z, previous)}
        if "bias" in self.params:
            grads["bias"] = d_z.sum(axis=1)
        return d_z @ self.params["weight_x"], grads

    def parameter_name(self, role: str, position: Shape, after: bool = False) -> str:
        return names.recurrent_parameter(role, self.number, position, after)

    def plan(self, cache: Any, role: str, position: Shape) -> list[tuple[int, str, str, Array]]:
        """BPTT's plan for one parameter entry (1-based position): per time step t, the two factors' names
        (dE_total/dnet_h1_t<t>[j] and what it multiplies: x[t,i], h1_t<t-1>[k] or 1 for the bias) and the
        step's contribution per sample; the gradient per sample is their sum (truncated: the truncated sum)."""
        if "d_net" not in cache:
            raise ValueError("the plan needs the backward pass (engine.backward) first")
        j = position[0] - 1
        x, states, d_net = cache["x"], cache["h"], cache["d_net"]
        terms = []
        for t in range(x.shape[1]):
            delta = names.partial(names.TOTAL, names.recurrent_value("net", self.label, t + 1, j + 1))
            if role == "weight_x":
                i = position[1] - 1
                factor, values = names.with_position(names.INPUT_MAP, (t + 1, i + 1)), x[:, t, i]
            elif role == "weight_h":
                k = position[1] - 1
                before = self.initial()[k] if t == 0 else states[:, t - 1, k]
                factor, values = names.recurrent_value("h", self.label, t, k + 1), np.broadcast_to(before, d_net[:, t, j].shape)
            elif role == "bias":
                factor, values = "1", np.ones_like(d_net[:, t, j])
            else:
                raise ValueError(f"rnn {self.label} has no parameter {role!r}")
            terms.append((t + 1, delta, factor, d_net[:, t, j] * values))
        return terms

    def quantities(self, cache: Any, samples: int, batch_scale: float) -> dict[str, float]:
        """Name -> value of every step's net and h, the local derivatives dh/dnet, dE_total/dh and dE_total/dnet."""
        found: dict[str, float] = {}
        states = cache["h"]
        for s in range(samples):
            tag = None if samples == 1 else s + 1
            for j in range(self.hidden):
                found[names.at(names.recurrent_value("h", self.label, 0, j + 1), tag)] = float(self.initial()[j])
            for t in range(states.shape[1]):
                for j in range(self.hidden):
                    net = names.recurrent_value("net", self.label, t + 1, j + 1)
                    h = names.recurrent_value("h", self.label, t + 1, j + 1)
                    found[names.at(net, tag)] = float(cache["net"][s, t, j])
                    found[names.at(h, tag)] = float(states[s, t, j])
                    if "d_h" in cache:
                        found[names.partial(h, net, tag)] = float(cache["derivative"][s, t, j])
                        if self.exact_gradients:
                            found[names.partial(names.TOTAL, h, tag)] = float(cache["d_h"][s, t, j])
                            found[names.partial(names.TOTAL, net, tag)] = float(cache["d_net"][s, t, j])
                        else:  # truncated sums are not derivatives: named as the sums they are (bptt2_h1_t3[1])
                            assert self.truncate is not None
                            found[names.truncated(h, self.truncate, tag)] = float(cache["d_h"][s, t, j])
                            found[names.truncated(net, self.truncate, tag)] = float(cache["d_net"][s, t, j])
        return found

    def describe(self) -> str:
        passes = "every step's h" if self.output == "sequence" else "the last step's h"
        bptt = "full BPTT" if self.truncate is None else f"BPTT truncated to {self.truncate} steps"
        start = "h0 = 0" if self.h0 is None else "h0 given"
        return (f"rnn {self.label}: {self.in_shape[0]} steps of {self.in_shape[1]} -> {self.hidden} units, "
                f"{self.recurrent_activation}, {start}, passes on {passes}, {bptt}")
