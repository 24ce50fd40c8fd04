"""attention: one head of scaled dot-product self-attention over a sequence, with its output projection.

For a sample's sequence x (steps, features), positions i (queries) and j (keys):

    q[i] = Wq · x[i] + bq      k[j] = Wk · x[j] + bk      v[j] = Wv · x[j] + bv
    score[i,j] = scale * q[i] · k[j]          scale = 1 / sqrt(key_size), or 1 with scale = false
    a[i,j] = exp(score[i,j]) / sum over j' of exp(score[i,j'])        (softmax over the keys: each row adds to 1)
    z[i] = sum over j of a[i,j] * v[j]         out[i] = Wo · z[i] + bo

A causal mask leaves out the keys after the query (j > i): their a[i,j] is 0. Backward, each
factor once:

    dE/dz[i] = Wo^T · dE/dout[i]               dE/dv[j] = sum over i of a[i,j] * dE/dz[i]
    dE/da[i,j] = dE/dz[i] · v[j]               dE/dscore[i,j] = a[i,j] * (dE/da[i,j] - sum over j' of a[i,j'] * dE/da[i,j'])
    dE/dq[i] = scale * sum over j of dE/dscore[i,j] * k[j]        dE/dk[j] = scale * sum over i of dE/dscore[i,j] * q[i]

and the projections' gradients as dense layers'. `output = "last"` passes on out at the last position only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad.core import names
from stepgrad.core.layers.base import Array, Layer, Run, Shape

PROJECTIONS = ("q", "k", "v", "o")
OUTPUTS = ("sequence", "last")
Nudge = tuple[str, tuple[int, ...], float]  # (q, k, v, score, a or z; (sample, i, j or feature) 0-based; step)


@dataclass
class Attention(Layer):
    """A single attention head: params "weight_q" (key_size, features), "weight_k" (key_size, features),
    "weight_v" (value_size, features), "weight_o" (out_size, value_size) and "bias_q" ... "bias_o" unless
    bias = false; `scaled` (1/sqrt(key_size)), `causal`, `output`."""

    number: int = 1
    scaled: bool = True
    causal: bool = False
    output: str = "sequence"
    nudge: Nudge | None = None

    kind = "attention"
    names_own_values = True

    @property
    def scale(self) -> float:
        return 1.0 / math.sqrt(self.params["weight_k"].shape[0]) if self.scaled else 1.0

    def mask(self, steps: int) -> Array:
        """True where a key is left out (after the query, with a causal mask)."""
        return np.triu(np.ones((steps, steps), dtype=bool), k=1) if self.causal else np.zeros((steps, steps), bool)

    def _project(self, role: str, x: Array) -> Array:
        y = x @ self.params[f"weight_{role}"].T
        return y + self.params[f"bias_{role}"] if f"bias_{role}" in self.params else y

    def forward(self, x: Array, run: Run) -> tuple[Array, Any]:
        q, k, v = (self._nudged(role, self._project(role, x)) for role in ("q", "k", "v"))
        masked = self.mask(x.shape[1])
        score = self._nudged("score", self.scale * np.einsum("nic,njc->nij", q, k))
        shifted = np.where(masked, -np.inf, score)
        shifted = shifted - shifted.max(axis=2, keepdims=True)
        e = np.exp(shifted)
        a = self._nudged("a", e / e.sum(axis=2, keepdims=True))
        z = self._nudged("z", np.einsum("nij,njc->nic", a, v))
        out = self._nudged("out", self._project("o", z))
        cache = {"x": x, "q": q, "k": k, "v": v, "score": score, "a": a, "z": z, "out": out, "mask": masked}
        return (out if self.output == "sequence" else out[:, -1]), cache

    def _nudged(self, which: str, array: Array) -> Array:
        if self.nudge is None or self.nudge[0] != which:
            return array
        array = array.copy()
        array[self.nudge[1]] += self.nudge[2]
        return array

    def backward(self, cache: Any, d_net: Array, run: Run) -> tuple[Array, dict[str, Array]]:
        x, q, k, v, a, z = (cache[key] for key in ("x", "q", "k", "v", "a", "z"))
        d_out = d_net if self.output == "sequence" else np.zeros((*z.shape[:2], d_net.shape[-1]))
        if self.output == "last":
            d_out[:, -1] = d_net
        d_z = d_out @ self.params["weight_o"]
        d_a = np.einsum("nic,njc->nij", d_z, v)
        d_v = np.einsum("nij,nic->njc", a, d_z)
        d_score = a * (d_a - (a * d_a).sum(axis=2, keepdims=True))  # the softmax's Jacobian, row by row
        d_q = self.scale * np.einsum("nij,njc->nic", d_score, k)
        d_k = self.scale * np.einsum("nij,nic->njc", d_score, q)
        cache.update(d_out=d_out, d_z=d_z, d_a=d_a, d_v=d_v, d_score=d_score, d_q=d_q, d_k=d_k)
        grads: dict[str, Array] = {}
        d_x = np.zeros_like(x)
        for role, d, source in (("q", d_q, x), ("k", d_k, x), ("v", d_v, x), ("o", d_out, z)):
            grads[f"weight_{role}"] = np.einsum("nic,nim->ncm", d, source)
            if f"bias_{role}" in self.params:
                grads[f"bias_{role}"] = d.sum(axis=1)
            if role != "o":
                d_x = d_x + d @ self.params[f"weight_{role}"]
        return d_x, grads

    def parameter_name(self, role: str, position: Shape, after: bool = False) -> str:
        return names.attention_parameter(role, self.number, position, after)

    def quantities(self, cache: Any, samples: int, batch_scale: float) -> dict[str, float]:
        """Name -> value of q, k, v, the scores, the weights a, z and out at every position, and dE_total/d of each."""
        found: dict[str, float] = {}
        masked = cache["mask"]
        arrays = {key: cache[key] for key in ("q", "k", "v", "score", "a", "z", "out")}
        for s in range(samples):
            tag = None if samples == 1 else s + 1
            for which, array in arrays.items():
                derivative = cache.get(f"d_{which}")
                for index in np.ndindex(*array.shape[1:]):
                    if which in ("score", "a") and masked[index]:
                        continue  # a key after the query under a causal mask: no score, a[i,j] = 0
                    position = tuple(i + 1 for i in index)
                    name = names.attention_value(which, self.label, position)
                    found[names.at(name, tag)] = float(array[(s, *index)])
                    if derivative is not None:
                        found[names.partial(names.TOTAL, name, tag)] = float(derivative[(s, *index)])
        return found

    def describe(self) -> str:
        steps, features = self.in_shape
        scale = f"scores scaled by 1/sqrt({self.params['weight_k'].shape[0]})" if self.scaled else "scores not scaled"
        mask = "causal mask" if self.causal else "no mask"
        passes = "every position's out" if self.output == "sequence" else "the last position's out"
        return (f"attention {self.label}: one head over {steps} steps of {features}, {scale}, softmax over the keys "
                f"(each row of a adds to 1), {mask}, passes on {passes}")
