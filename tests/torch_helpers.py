"""PyTorch's own next training step: the reference the torch interop tests compare stepgrad's explanation with."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np


def torch_next_step(model: Any, opt: Any, x: Any, y: Any, loss_fn: Any,
                    earlier: int = 0) -> tuple[float, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """`earlier` steps of `opt` on `model` (the state a user's optimizer brings to stepgrad), then torch's next step
    on a joint deep copy of the two: its loss before the step, and its gradients and parameters after it by name.

    A joint copy, not load_state_dict: that would cast NAdam's float32 momentum product to the parameters' float64,
    which is not the step the user's own optimizer takes next. `model` and `opt` are left before that step."""
    for _ in range(earlier):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    twin, twin_opt = copy.deepcopy((model, opt))
    twin_opt.zero_grad()
    loss = loss_fn(twin(x), y)
    loss.backward()
    grads = {n: p.grad.numpy().copy() for n, p in twin.named_parameters() if p.grad is not None}
    twin_opt.step()
    return float(loss.detach()), grads, {n: p.detach().numpy().copy() for n, p in twin.named_parameters()}
