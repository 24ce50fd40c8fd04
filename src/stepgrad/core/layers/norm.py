"""layernorm and batchnorm: each value made mean 0 and variance 1 within its group, then scaled and shifted.

A group is what one mean and one variance are taken over. layernorm: the features of one sample
(the last axis; for a sequence, each time step's features). batchnorm (PyTorch's BatchNorm1d): one
feature (or channel) over the samples of the batch (and a 1-d map's positions). With M values in a group,

    mu   = (1/M) * sum of x                          var = (1/D) * sum of (x - mu)^2
    xhat = (x - mu) / sqrt(var + eps)                out = gamma * xhat + beta

D = M (the biased estimator, what PyTorch normalizes with; the default) or M - 1 (`variance =
"unbiased"`). The gradient reaches x along three paths, through xhat itself, through var and
through mu:

    dE/dxhat = dE/dout * gamma
    dE/dvar  = sum over the group of dE/dxhat * (x - mu) * (-1/2) * (var + eps)^(-3/2)
    dE/dmu   = sum over the group of dE/dxhat * (-1 / sqrt(var + eps))  +  dE/dvar * sum of -2 (x - mu) / D
    dE/dx    = dE/dxhat / sqrt(var + eps)  +  dE/dvar * 2 (x - mu) / D  +  dE/dmu / M

(the second term of dE/dmu is 0: the deviations add up to 0). batchnorm in evaluation mode uses the
running statistics instead (constants: only the first path); a training step moves them by
`momentum`: running_mean+ = (1 - momentum) * running_mean + momentum * mu, and running_var+ likewise
with the unbiased variance of the batch (sum / (M - 1)), as PyTorch does, whichever D normalizes.

Because batchnorm in training mode mixes the samples, a per-sample derivative dE_total/dq[s] is the
derivative of the sum of all samples' errors by q as sample s computes it (for a parameter: by
sample s's copy of it); where samples do not mix this is sample s's own E_total, as everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stepgrad.core import names
from stepgrad.core.errors import StepgradError
from stepgrad.core.layers.base import Array, Layer, Run, Shape

VARIANCES = ("biased", "unbiased")
MODES = ("training", "evaluation")
STATISTICS = ("mu", "var")  # the names of a group's mean and variance (mu_n1[...], var_n1[...])
Nudge = tuple[str, tuple[int, ...], float]  # (quantity: "mu", "var" or "xhat"; index, samples first where per sample; step)


@dataclass
class Norm(Layer):
    """The common part of layernorm and batchnorm: params "gamma" and "beta" (features,) unless
    affine = false; `eps`; the variance estimator; `nudge` adds a step to one inner quantity (finite differences)."""

    number: int = 1
    eps: float = 1e-5
    variance: str = "biased"
    nudge: Nudge | None = None

    def axes(self, ndim: int) -> tuple[int, ...]:
        """The axes of a batch array (samples first) that one group's statistics run over."""
        raise NotImplementedError

    def feature_shape(self, ndim: int) -> tuple[int, ...]:
        """The shape gamma is broadcast to over a batch array."""
        raise NotImplementedError

    def statistics(self, x: Array) -> tuple[Array, Array, int]:
        """mu and var (keeping the reduced axes) and M, the group's size."""
        axes = self.axes(x.ndim)
        size = int(np.prod([x.shape[a] for a in axes]))
        mu = self._nudged("mu", x.mean(axis=axes, keepdims=True))
        divide = size if self.variance == "biased" else size - 1
        var = self._nudged("var", ((x - mu) ** 2).sum(axis=axes, keepdims=True) / divide)
        return mu, var, size

    def _nudged(self, which: str, a: Array) -> Array:
        if self.nudge is None or self.nudge[0] != which:
            return a
        a = a.copy()
        a[self._full_index(which, a, self.nudge[1])] += self.nudge[2]
        return a

    def _full_index(self, which: str, a: Array, index: tuple[int, ...]) -> tuple[int, ...]:
        """The index into the kept-dims array `a` from the named index (reduced axes left out)."""
        if which == "xhat":
            return index
        axes = self.axes(a.ndim)
        kept = iter(index)
        return tuple(0 if axis in axes else next(kept) for axis in range(a.ndim))

    def affine(self, xhat: Array) -> Array:
        if "gamma" not in self.params:
            return xhat
        shape = self.feature_shape(xhat.ndim)
        return xhat * self.params["gamma"].reshape(shape) + self.params["beta"].reshape(shape)

    def normalize(self, x: Array, mu: Array, var: Array, size: int, batch: bool) -> tuple[Array, Any]:
        xhat = self._nudged("xhat", (x - mu) / np.sqrt(var + self.eps))
        cache = {"x": x, "mu": mu, "var": var, "xhat": xhat, "size": size, "batch": batch}
        return self.affine(xhat), cache

    def forward(self, x: Array, run: Run) -> tuple[Array, Any]:
        mu, var, size = self.statistics(x)
        return self.normalize(x, mu, var, size, batch=True)

    def backward(self, cache: Any, d_net: Array, run: Run) -> tuple[Array, dict[str, Array]]:
        x, mu, var, xhat, size = cache["x"], cache["mu"], cache["var"], cache["xhat"], cache["size"]
        grads: dict[str, Array] = {}
        if "gamma" in self.params:
            shape = self.feature_shape(x.ndim)
            d_xhat = d_net * self.params["gamma"].reshape(shape)
            grads["gamma"] = self._per_sample(d_net * xhat)
            grads["beta"] = self._per_sample(d_net)
        else:
            d_xhat = d_net
        cache["d_xhat"] = d_xhat
        root = np.sqrt(var + self.eps)
        if not cache["batch"]:  # the statistics are constants (evaluation mode): the first path only
            return d_xhat / root, grads
        axes = self.axes(x.ndim)
        divide = size if self.variance == "biased" else size - 1
        deviation = x - mu
        d_var = (d_xhat * deviation).sum(axis=axes, keepdims=True) * (-0.5) * (var + self.eps) ** -1.5
        d_mu = (-d_xhat / root).sum(axis=axes, keepdims=True) + d_var * (-2.0 * deviation).sum(
            axis=axes, keepdims=True) / divide
        cache["d_var"], cache["d_mu"] = d_var, d_mu
        return d_xhat / root + d_var * 2.0 * deviation / divide + d_mu / size, grads

    def _per_sample(self, a: Array) -> Array:
        """Sum a (samples, ...) array over everything but the samples and the feature axis."""
        feature = self.feature_shape(a.ndim)
        axes = tuple(i for i in range(1, a.ndim) if feature[i] == 1)
        return a.sum(axis=axes) if axes else a

    def parameter_name(self, role: str, position: Shape, after: bool = False) -> str:
        return names.norm_parameter(role, self.label, position, after)

    def quantities(self, cache: Any, samples: int, batch_scale: float) -> dict[str, float]:
        """Name -> value of the inner quantities: mu, var, xhat and their dE_total/d..., per group."""
        found: dict[str, float] = {}
        per_sample_stats = 0 not in self.axes(cache["x"].ndim)

        def add(which: str, array: Array, derivative: bool, per_sample: bool) -> None:
            if per_sample:
                for s in range(samples):
                    tag = None if samples == 1 else s + 1
                    for position, value in _entries(self._named(which, array[s:s + 1]), squeeze_sample=True):
                        name = names.norm_value(which, self.label, position)
                        found[names.partial(names.TOTAL, name, tag) if derivative else names.at(name, tag)] = value
            else:
                for position, value in _entries(self._named(which, array), squeeze_sample=False):
                    name = names.norm_value(which, self.label, position)
                    found[names.gradient(name) if derivative else name] = value * (batch_scale if derivative else 1)

        add("xhat", cache["xhat"], False, True)
        if "d_xhat" in cache:
            add("xhat", cache["d_xhat"], True, True)
        if cache["batch"]:
            for which in STATISTICS:
                add(which, cache[which], False, per_sample_stats)
                if f"d_{which}" in cache:
                    add(which, cache[f"d_{which}"], True, per_sample_stats)
        return found

    def _named(self, which: str, a: Array) -> Array:
        """The array as named: xhat as it is; a statistic without its reduced axes (the samples kept first)."""
        if which == "xhat":
            return a
        axes = tuple(i for i in self.axes(a.ndim) if i != 0)
        squeezed = a.squeeze(axis=axes) if axes else a
        return squeezed if squeezed.ndim > 1 else squeezed.reshape(squeezed.shape[0], -1)


def _entries(a: Array, squeeze_sample: bool) -> list[tuple[tuple[int, ...], float]]:
    """(1-based position, value) of every entry; a (1, ...) sample axis dropped first when asked."""
    if squeeze_sample or a.shape[0] == 1 and a.ndim > 1:
        a = a[0]
    if a.ndim == 0:
        a = a.reshape(1)
    return [(tuple(i + 1 for i in index), float(a[index])) for index in np.ndindex(*a.shape)]


@dataclass
class LayerNorm(Norm):
    """layernorm over the features (the last axis) of one sample: nn.LayerNorm(features)."""

    kind = "layernorm"

    def axes(self, ndim: int) -> tuple[int, ...]:
        return (ndim - 1,)

    def feature_shape(self, ndim: int) -> tuple[int, ...]:
        return (*([1] * (ndim - 1)), -1)

    def describe(self) -> str:
        affine = "gamma and beta" if "gamma" in self.params else "no gamma or beta"
        return (f"layernorm {self.label}: over the {self.in_shape[-1]} features of each sample, eps {self.eps:g}, "
                f"{self.variance} variance, {affine}")


@dataclass
class BatchNorm(Norm):
    """batchnorm over the batch (nn.BatchNorm1d): a vector (features,) or a 1-d map (channels, length);
    `mode` "training" (the batch's statistics) or "evaluation" (the running ones), `momentum`."""

    mode: str = "training"
    momentum: float = 0.1
    running_mean: Array = field(default_factory=lambda: np.zeros(0))
    running_var: Array = field(default_factory=lambda: np.zeros(0))

    kind = "batchnorm"

    @property
    def mixes_samples(self) -> bool:  # type: ignore[override]
        return self.mode == "training"

    def axes(self, ndim: int) -> tuple[int, ...]:
        return (0,) if ndim == 2 else (0, 2)

    def feature_shape(self, ndim: int) -> tuple[int, ...]:
        return (1, -1) if ndim == 2 else (1, -1, 1)

    def forward(self, x: Array, run: Run) -> tuple[Array, Any]:
        if self.mode == "training":
            mu, var, size = self.statistics(x)
            if size < 2:
                raise StepgradError(f"batchnorm {self.label} in training mode needs more than 1 value per feature "
                                 f"(a batch of 2 samples or more)")
            return self.normalize(x, mu, var, size, batch=True)
        shape = self.feature_shape(x.ndim)
        return self.normalize(x, self.running_mean.reshape(shape), self.running_var.reshape(shape), 0, batch=False)

    def running_after(self, cache: Any) -> dict[str, Array]:
        """The running statistics after this forward pass (training mode moves them; evaluation keeps them)."""
        if not cache["batch"]:
            return {"running_mean": self.running_mean, "running_var": self.running_var}
        size = cache["size"]
        mean = self._named("mu", cache["mu"])[0]
        unbiased = self._named("var", cache["var"])[0] * ((size if self.variance == "biased" else size - 1)
                                                          / (size - 1))
        return {"running_mean": (1 - self.momentum) * self.running_mean + self.momentum * mean,
                "running_var": (1 - self.momentum) * self.running_var + self.momentum * unbiased}

    def quantities(self, cache: Any, samples: int, batch_scale: float) -> dict[str, float]:
        found = super().quantities(cache, samples, batch_scale)
        new = self.running_after(cache)
        for which in ("running_mean", "running_var"):
            for index in np.ndindex(*getattr(self, which).shape):
                position = tuple(i + 1 for i in index)
                found[names.norm_value(which, self.label, position)] = float(getattr(self, which)[index])
                if cache["batch"]:
                    found[names.norm_value(which, self.label, position, after=True)] = float(new[which][index])
        return found

    def settle(self, cache: Any) -> None:
        """Keep the running statistics this forward pass moved (after a training step)."""
        new = self.running_after(cache)
        self.running_mean, self.running_var = new["running_mean"], new["running_var"]

    def describe(self) -> str:
        affine = "gamma and beta" if "gamma" in self.params else "no gamma or beta"
        if self.mode == "training":
            stats = f"the batch's mean and {self.variance} variance, running statistics with momentum {self.momentum:g}"
        else:
            stats = "the running mean and variance (evaluation mode)"
        return f"batchnorm {self.label}: each of {self.in_shape[0]} features over the batch, {stats}, " \
               f"eps {self.eps:g}, {affine}"
