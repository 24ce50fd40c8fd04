"""Frozen first layers (a fixed feature extractor, an embedding-like first nn.Linear): held fixed, as PyTorch does.

When the first nn.Linear layers of a model neither train their weights nor their biases (requires_grad=False, or
no bias), PyTorch's step leaves them as they are and only carries their outputs forward. stepgrad does the same:
it computes those layers' outputs (with their activations) from the batch first, and explains the step of the
layers that train, with these outputs as its inputs i1, i2 ... The explanation says so in one sentence, and
compare_with_torch checks that torch left the frozen parameters as they were. A frozen weight or bias after a trained
layer stays in the network, held fixed (reading.trainable_of, tracing/held.py).

    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(3, 4, bias=False), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    >>> _ = model[0].requires_grad_(False)
    >>> frozen_prefix(model, [("0", model[0]), ("2", model[2])])
    1
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from stepgrad.core.errors import StepgradError
from stepgrad.core.functions import ACTIVATIONS
from stepgrad.interop.convert import torch_module


def _frozen(linear: Any) -> bool:
    return not linear.weight.requires_grad and (linear.bias is None or not linear.bias.requires_grad)


def frozen_prefix(module: Any, linears: list[tuple[str, Any]]) -> int:
    """How many of the first nn.Linear layers are frozen whole (weight and bias); a StepgradError when all are."""
    k = 0
    while k < len(linears) and _frozen(linears[k][1]):
        k += 1
    if k == len(linears):
        raise StepgradError(f"every layer of {type(module).__name__} is frozen (requires_grad=False): nothing trains")
    return k


def features(linears: list[tuple[str, Any]], activations: list[str], k: int, inputs: Any) -> np.ndarray:
    """The outputs of the first `k` (frozen) layers with their activations, for the batch `inputs` (float64)."""
    torch = torch_module()
    with torch.no_grad():
        h = torch.as_tensor(np.asarray(inputs.detach().cpu() if hasattr(inputs, "detach") else inputs,
                                       dtype=np.float64))
        h = h.reshape(1, -1) if h.dim() == 1 else h
        for (_, linear), act in zip(linears[:k], activations[:k]):
            bias = None if linear.bias is None else linear.bias.double()
            h = ACTIVATIONS[act].torch()(torch.nn.functional.linear(h, linear.weight.double(), bias))
    return h.numpy()


def note(linears: list[tuple[str, Any]], activations: list[str], k: int, inputs: Sequence[str]) -> str:
    """The sentence the explanation says about the frozen layers."""
    layers = ", ".join(repr(name) for name, _ in linears[:k])
    acts = [a for a in activations[:k] if a != "linear"]
    with_acts = f" (after its {acts[-1]})" if k == 1 and acts else (" (after their activations)" if acts else "")
    return (f"Layer{'s' if k > 1 else ''} {layers} {'are' if k > 1 else 'is'} frozen (requires_grad=False): "
            f"{'their' if k > 1 else 'its'} outputs{with_acts} are computed from the batch first and are this step's "
            f"inputs {inputs[0]}..{inputs[-1]}; PyTorch's step leaves {'them' if k > 1 else 'it'} as "
            f"{'they are' if k > 1 else 'it is'}.")
