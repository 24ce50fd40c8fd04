"""The registry's PyTorch counterparts, as factories that import torch only when called.

`torch_module()` is torch, or a one-line error saying how to install it (stepgrad.interop uses it
too). `module(name, *args)` returns a factory of `torch.nn.<name>(*args)` (an activation); the loss
functions return a callable giving per-sample losses, summed over outputs, from (out, target)
or, for the combined forms, from (net, target): stepgrad's E_total of each sample.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stepgrad.core.errors import StepgradError


def torch_module() -> Any:
    """The torch module, or a StepgradError saying how to install it."""
    try:
        import torch
    except ImportError:
        raise StepgradError("PyTorch is not installed: pip install 'stepgrad[torch]'") from None
    return torch


def _nn() -> Any:
    return torch_module().nn


def module(name: str, *args: Any, **kwargs: Any) -> Callable[[], Any]:
    """A factory of the activation module torch.nn.<name>(*args, **kwargs)."""
    def build() -> Any:
        return getattr(_nn(), name)(*args, **kwargs)

    build.__doc__ = f"torch.nn.{name}"
    return build


def half_squared_error() -> Callable[[Any, Any], Any]:
    """1/2 sum over outputs of (target - out)^2: half of MSELoss(reduction='none') summed."""
    mse = _nn().MSELoss(reduction="none")
    return lambda out, target: 0.5 * mse(out, target).sum(dim=-1)


def mean_squared_error() -> Callable[[Any, Any], Any]:
    """nn.MSELoss per sample: the mean over outputs."""
    mse = _nn().MSELoss(reduction="none")
    return lambda out, target: mse(out, target).mean(dim=-1)


def huber() -> Callable[[Any, Any], Any]:
    """nn.HuberLoss(delta=1.0) summed over outputs (E_total sums the outputs' terms)."""
    loss = _nn().HuberLoss(reduction="none", delta=1.0)
    return lambda out, target: loss(out, target).sum(dim=-1)


def softmax_cross_entropy() -> Callable[[Any, Any], Any]:
    """nn.CrossEntropyLoss with probability targets, per sample, from the logits."""
    loss = _nn().CrossEntropyLoss(reduction="none")
    return lambda net, target: loss(net, target)


def sigmoid_cross_entropy() -> Callable[[Any, Any], Any]:
    """nn.BCEWithLogitsLoss summed over outputs, from the logits."""
    loss = _nn().BCEWithLogitsLoss(reduction="none")
    return lambda net, target: loss(net, target).sum(dim=-1)


def bce_with_logits() -> Callable[[Any, Any], Any]:
    """nn.BCEWithLogitsLoss per sample: the mean over outputs, from the logits."""
    loss = _nn().BCEWithLogitsLoss(reduction="none")
    return lambda net, target: loss(net, target).mean(dim=-1)
