"""PyTorch loss modules and targets as stepgrad reads them: the registry loss, the reduction, the targets.

    >>> import torch
    >>> read = read_loss(torch.nn.CrossEntropyLoss(label_smoothing=0.1), "linear", 3, torch.tensor([0, 2]))
    >>> read.loss, read.reduction, read.targets[1].round(4).tolist()
    ('cross_entropy_with_logits', 'mean', [0.0333, 0.0333, 0.9333])

A model that ends in nn.Linear gives raw scores: nn.CrossEntropyLoss becomes the registry's
`cross_entropy_with_logits` (and so does nn.NLLLoss of a model ending in log_softmax: the same loss),
nn.BCEWithLogitsLoss `binary_cross_entropy_with_logits` (with reduction='sum' and several outputs: `cross_entropy`
of the sigmoid it applies itself, shown as the output layer's activation). PyTorch's reduction takes every element, outputs
and samples alike: with reduction='mean' nn.MSELoss is `mean_squared_error`, nn.L1Loss `l1`, nn.HuberLoss()
and nn.SmoothL1Loss() (delta = beta = 1) `smooth_l1` (`huber` for one output); with reduction='sum' they
are the sums over the outputs `squared_error`, `absolute_error` and `huber`, and nn.BCELoss of sigmoid
outputs `cross_entropy`. Class indices (integer targets, one per sample) become one-hot rows;
label_smoothing mixes every row with the uniform distribution, as PyTorch does. An option stepgrad does not model is refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad.core.errors import StepgradError

LOSS_MODULES = ("CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCEWithLogitsLoss", "BCELoss", "HuberLoss",
                "SmoothL1Loss")


@dataclass(frozen=True)
class TorchLoss:
    """What a PyTorch loss module is in stepgrad's terms."""

    loss: str  # the registry name
    reduction: str  # "mean" or "sum" over the samples
    targets: np.ndarray  # one row per sample, one column per output (class indices made one-hot)
    applies: str | None = None  # an activation the loss applies to the model's raw outputs, shown as the output layer's


def is_nll(loss_fn: Any) -> bool:
    """Whether `loss_fn` is nn.NLLLoss (the model then ends in log_softmax: see reading.layers_of)."""
    return type(loss_fn).__name__ == "NLLLoss"


def is_class_indices(targets: Any) -> bool:
    """True for integer targets with one entry per sample (PyTorch's class indices)."""
    dtype = getattr(targets, "dtype", None)
    if dtype is None:
        array = np.asarray(targets)
        return array.ndim == 1 and array.size > 0 and array.dtype.kind in "iu"
    integer = str(dtype).replace("torch.", "") in ("int64", "int32", "int16", "int8", "uint8") or \
        getattr(dtype, "kind", "") in ("i", "u")
    return integer and len(getattr(targets, "shape", ())) == 1


def one_hot(targets: Any, classes: int, where: str = "targets") -> np.ndarray:
    """Class indices (one per sample) as one-hot rows of `classes` columns."""
    labels = np.asarray(targets.detach().cpu().numpy() if hasattr(targets, "detach") else targets).astype(np.int64)
    bad = labels[(labels < 0) | (labels >= classes)]
    if bad.size:
        raise StepgradError(f"class index {int(bad[0])} is out of range: the model has {classes} outputs "
                            f"(classes 0..{classes - 1})", where=where)
    rows = np.zeros((len(labels), classes))
    rows[np.arange(len(labels)), labels] = 1.0
    return rows


def _float_targets(targets: Any) -> np.ndarray:
    if hasattr(targets, "detach"):
        targets = targets.detach().cpu().double().numpy()
    return np.atleast_2d(np.array(targets, dtype=np.float64))


def _refuse_options(loss_fn: Any, label: str, defaults: dict[str, Any]) -> None:
    for option, default in defaults.items():
        value = getattr(loss_fn, option, default)
        if value is not default and not (default is not None and value == default):
            raise StepgradError(f"{label}({option}=...) is not supported: stepgrad's loss has no {option}",
                                where="loss_fn")


def read_loss(loss_fn: Any, activation: str, outputs: int, targets: Any) -> TorchLoss:
    """The stepgrad loss, reduction and targets for a PyTorch loss module after `activation` outputs."""
    label = f"nn.{type(loss_fn).__name__}"
    name = type(loss_fn).__name__
    if name not in LOSS_MODULES:
        raise StepgradError(f"unsupported loss {label}: stepgrad reads nn.{', nn.'.join(LOSS_MODULES)}", where="loss_fn")
    reduction = getattr(loss_fn, "reduction", "mean")
    if reduction not in ("mean", "sum"):
        raise StepgradError(f"{label}(reduction={reduction!r}) is not supported: stepgrad explains one loss "
                            "per batch, reduction='mean' or 'sum'", where="loss_fn")
    if name in ("CrossEntropyLoss", "NLLLoss"):
        return _cross_entropy(loss_fn, label, name, reduction, activation, outputs, targets)
    _refuse_options(loss_fn, label, {"weight": None, "pos_weight": None})
    rows = _float_targets(targets)
    many = outputs > 1
    if name == "MSELoss":  # torch adds (or averages) every element: with several outputs, the sum over them too
        loss = "squared_error" if reduction == "sum" and many else "mean_squared_error"
    elif name == "L1Loss":
        loss = "absolute_error" if reduction == "sum" and many else "l1"
    elif name in ("HuberLoss", "SmoothL1Loss"):
        _refuse_options(loss_fn, label, {"delta": 1.0, "beta": 1.0})  # the registry's huber: delta 1 (= beta 1)
        loss = "smooth_l1" if reduction == "mean" and many else "huber"  # the mean over outputs, or their sum
    elif name == "BCEWithLogitsLoss":
        if activation != "linear":
            raise StepgradError(f"{label} takes raw scores and applies the sigmoid itself: end the model in "
                                f"nn.Linear (remove the final {activation})", where="loss_fn")
        if reduction == "sum" and many:  # summed over the outputs: the registry's cross_entropy after sigmoid, whose
            # stable form from the raw scores is torch's own (max(z, 0) - z t + log1p(exp(-|z|)))
            return TorchLoss("cross_entropy", reduction, rows, applies="sigmoid")
        loss = "binary_cross_entropy_with_logits"
    else:
        if activation != "sigmoid":
            raise StepgradError(f"{label} is read for sigmoid outputs; for raw scores use nn.BCEWithLogitsLoss",
                                where="loss_fn")
        if reduction == "mean" and many:
            raise StepgradError(f"{label}() with {outputs} outputs averages over the outputs: stepgrad's cross_entropy "
                                "of sigmoid outputs sums them; use reduction='sum', or nn.BCEWithLogitsLoss on the raw "
                                "scores", where="loss_fn")
        loss = "cross_entropy"  # binary cross-entropy summed over the outputs
    return TorchLoss(loss, reduction, rows)


def _cross_entropy(loss_fn: Any, label: str, name: str, reduction: str, activation: str, outputs: int,
                   targets: Any) -> TorchLoss:
    """nn.CrossEntropyLoss of raw scores, or nn.NLLLoss of their log_softmax (the model's last step): the same loss."""
    _refuse_options(loss_fn, label, {"weight": None})
    if activation != "linear":
        if name == "NLLLoss":
            raise StepgradError(f"{label} after log_softmax is read when log_softmax takes the last nn.Linear's "
                                f"output (here a {activation} comes between them)", where="loss_fn")
        raise StepgradError(f"{label} takes raw scores and applies log-softmax itself: end the model in "
                            f"nn.Linear (remove the final {activation})", where="loss_fn")
    if is_class_indices(targets):
        ignored = np.asarray(targets.detach().cpu() if hasattr(targets, "detach") else targets) == loss_fn.ignore_index
        if ignored.any():
            raise StepgradError(f"{label}(ignore_index={loss_fn.ignore_index}): a target equals it; "
                                "stepgrad explains every sample", where="targets")
        rows = one_hot(targets, outputs)
    elif name == "NLLLoss":
        raise StepgradError(f"{label} takes class indices (integers, one per sample)", where="targets")
    else:
        rows = _float_targets(targets)
    smoothing = float(getattr(loss_fn, "label_smoothing", 0.0))
    rows = (1.0 - smoothing) * rows + smoothing / outputs
    return TorchLoss("cross_entropy_with_logits", reduction, rows)


def read_targets(loss: str, activation: str, outputs: int, targets: Any) -> Any:
    """Targets for a stepgrad loss given by name: class indices become one-hot rows for cross-entropy."""
    from stepgrad.core.functions import loss as loss_entry

    combined = loss_entry(loss).combination(activation)
    if combined is not None and combined.distribution and is_class_indices(targets):
        return one_hot(targets, outputs)
    return targets
