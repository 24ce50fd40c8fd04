"""The registry's PyTorch counterparts, built only when called (torch imported then).

`torch_module()` is torch, or a one-line error saying how to install it (stepgrad.interop uses it
too). `module(name, **kwargs)` returns a factory of `torch.nn.<name>(**kwargs)` (an activation);
`per_sample(expression)` a callable computing a loss entry's `torch_per_sample` expression (our
registry's own text, in `output`, `target`, `torch` and `F`; never user input): per-sample losses,
summed or averaged over outputs as stepgrad's E_total of each sample.
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


_torch = torch_module


def module(name: str, *args: Any, **kwargs: Any) -> Callable[[], Any]:
    """A factory of the activation module torch.nn.<name>(*args, **kwargs)."""
    def build() -> Any:
        return getattr(_torch().nn, name)(*args, **kwargs)

    build.__doc__ = f"torch.nn.{name}"
    return build


def per_sample(expression: str) -> Callable[[Any, Any], Any]:
    """The per-sample loss `expression` as a function of (output, target) tensors."""
    torch = _torch()
    code = compile(expression, "<stepgrad registry loss>", "eval")
    scope = {"torch": torch, "F": torch.nn.functional}

    def loss(output: Any, target: Any) -> Any:
        return eval(code, scope, {"output": output, "target": target})  # noqa: S307 (the registry's own expression)

    return loss
