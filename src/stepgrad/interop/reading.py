"""Reading a PyTorch model: its chain of nn.Linear layers and activations, and which parameters it trains.

    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(inplace=True), torch.nn.Linear(3, 1))
    >>> linears, activations = layers_of(model)
    >>> [name for name, _ in linears], activations
    (['0', '2'], ['relu', 'linear'])

A model is read only when stepgrad can explain it exactly; anything else is refused in one line
naming the part:
- every module of an nn.Sequential is read in order, a module placed twice included (torch runs it
  twice): a reused activation module is two activations; an nn.Linear used twice (shared
  parameters, tied weights) is refused, as is one parameter tensor held by two layers;
- identities are skipped: nn.Identity, nn.Dropout (and F.dropout) in eval mode or with p=0, nn.Flatten and
  x.view(-1, n) / x.reshape(-1, n) / x.flatten(1) on the 2-D batches stepgrad reads; in-place
  activations (nn.ReLU(inplace=True)) compute what the others do;
- parameters that do not require gradients (frozen weights and biases, anywhere) are held fixed, each
  tensor on its own (`trainable_of`, the spec's update_weights/update_biases per layer), as PyTorch's step
  skips them; nn.Linear(bias=False), no bias at all, computes as a bias fixed at 0.
Functions called in a forward() (torch.tanh, F.elu ...) are the registry's activations, looked up
through `counterpart`, the one place that reads the registry's PyTorch names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stepgrad.core._torch_forms import torch_module  # the one place torch is imported
from stepgrad.core.errors import StepgradError
from stepgrad.core.functions import ACTIVATIONS


@dataclass(frozen=True)
class Counterpart:
    """A registry activation's PyTorch names: its nn module's class and the torch functions computing the same."""

    activation: str  # the registry name
    module: str  # the class name in torch.nn, e.g. "ELU"
    functions: frozenset[str]  # names of torch.*, F.* and tensor methods, e.g. {"elu"}


def counterpart(entry: Any) -> Counterpart:
    """The PyTorch names of a registry activation: the ONE place interop reads them from the registry.

    Reads `torch_module` ("nn.ELU") and `torch_functional` ("F.elu") when the entry has them, and
    otherwise the module written in its `torch_source` ("nn.LeakyReLU(0.01)"), whose functional
    form torch names in lower case (F.softplus, torch.tanh) or snake case (F.leaky_relu).
    """
    module = getattr(entry, "torch_module", None) or getattr(entry, "torch_source", None) or type(entry.torch()).__name__
    cls = str(module).partition("(")[0].removeprefix("torch.").removeprefix("nn.")
    functional = getattr(entry, "torch_functional", None)
    if functional:
        names = {str(functional).partition("(")[0].rpartition(".")[2]}
    else:
        names = {cls.lower(), re.sub(r"(?<=[a-z])(?=[A-Z][a-z])", "_", cls).lower()}
    return Counterpart(entry.name, cls, frozenset(names))


def counterparts() -> list[Counterpart]:
    """Every registry activation's PyTorch names, in registry order."""
    return [counterpart(entry) for entry in ACTIVATIONS.values()]


def supported() -> str:
    """What stepgrad reads, in one phrase for refusals."""
    return ("nn.Linear, each followed by " + ", ".join(a.torch_source.removeprefix("nn.") for a in ACTIVATIONS.values())
            + " (or nothing)")


def followed() -> str:
    """The torch functions a forward() may call, in one phrase for refusals."""
    names = sorted({f for c in counterparts() for f in c.functions if hasattr(torch_module().nn.functional, f)})
    return ", ".join(f"F.{n}" for n in names) + " (or torch.* / tensor methods of the same name)"


# ------------------------------------------------------------------------------------------------
# the chain of modules


@dataclass(frozen=True)
class _Reshape:
    """x.view(-1, width) in a forward(): the identity on a (samples, width) batch, any other width refused."""

    width: int


def flatten(module: Any) -> list[tuple[str, Any]]:
    """(state_dict prefix, module) for every leaf of a (nested) nn.Sequential, in order, repeats included."""
    nn = torch_module().nn
    if isinstance(module, nn.Sequential):
        leaves = []
        for name, child in module._modules.items():  # not named_children(): it skips a module placed twice
            if child is not None:
                leaves += [(f"{name}.{sub}" if sub else name, m) for sub, m in flatten(child)]
        return leaves
    if isinstance(module, nn.Module):
        return [("", module)]
    raise StepgradError(f"expected an nn.Sequential of {supported()}; got {type(module).__name__}")


def _identity(module: Any) -> bool:
    """True for modules that leave a (samples, features) batch as it is."""
    nn = torch_module().nn
    if type(module) is nn.Identity:
        return True
    if type(module) is nn.Dropout:
        return not module.training or module.p == 0
    if type(module) is nn.Flatten:
        return module.start_dim in (1, -1) and module.end_dim == -1
    return False


_RANDOM = "dropout in training mode drops random inputs (call model.eval(), or p=0); "


def _why(module: Any) -> str:
    """A hint for a refused module that is nearly supported."""
    return _RANDOM if type(module) is torch_module().nn.Dropout else ""


def _settings(module: Any) -> str:
    # in-place or not, an activation computes the same values and the same gradients
    return re.sub(r"(, )?inplace=True", "", module.extra_repr()).strip(", ")


def _activation_name(name: str, module: Any, last: bool) -> str | None:
    """stepgrad's name for an activation module, None when it is not one; errors for unsupported settings."""
    label = f"layer {name!r} ({module!r})"
    same_type = [(act, ours) for act, ours in ((act, act.torch()) for act in ACTIVATIONS.values())
                 if type(module) is type(ours)]
    # one torch module may be several entries by its settings (nn.GELU: gelu, and gelu_tanh with approximate='tanh')
    same_type.sort(key=lambda pair: _settings(module) != _settings(pair[1]))
    for act, ours in same_type:
        if _settings(module) != _settings(ours) and not _same_softmax(module, ours):
            settings = _settings(ours).replace("_", " ").replace("=", " ")
            raise StepgradError(f"unsupported {label}: stepgrad's {act.name} is {act.torch_source}"
                                + (f", with {settings}" if settings else ""))
        if not act.hidden_ok and not last:
            raise StepgradError(f"unsupported {label}: {act.name} is allowed only as the last module")
        return act.name
    return None


def _same_softmax(module: Any, ours: Any) -> bool:
    # Softmax over the last dimension of a (samples, features) batch: dim=1 is dim=-1.
    return hasattr(module, "dim") and {module.dim, ours.dim} <= {-1, 1}


def layers_of(module: Any, log_softmax: bool = False) -> tuple[list[tuple[str, Any]], list[str]]:
    """The (name, nn.Linear) layers of `module` and each one's stepgrad activation name.

    log_softmax: the model ends in log_softmax (nn.LogSoftmax, F.log_softmax) and is trained with nn.NLLLoss:
    the pair is cross-entropy of the raw scores, so the last layer is read as linear. Otherwise a final
    log_softmax is refused, and with it a model that lacks one.
    """
    nn = torch_module().nn
    if isinstance(module, nn.Module) and not isinstance(module, (nn.Sequential, nn.Linear)):
        leaves = traced_leaves(module)
    else:
        leaves = flatten(module)
    _check_hooks(module, leaves)
    leaves = [(name, m) for name, m in leaves if not _identity(m)]
    last_name, last = leaves[-1] if leaves else ("", None)
    ends = isinstance(last, nn.LogSoftmax) and type(last) is nn.LogSoftmax and last.dim in (-1, 1, None)
    if ends and not log_softmax:
        raise StepgradError(f"unsupported layer {last_name!r} (LogSoftmax): stepgrad reads log_softmax as the last "
                            "step before nn.NLLLoss (pass loss_fn=nn.NLLLoss(); the pair is cross-entropy of the raw "
                            "scores)")
    if log_softmax and not ends:
        raise StepgradError("nn.NLLLoss takes log-probabilities: end the model in nn.LogSoftmax(dim=1) or "
                            "F.log_softmax(x, dim=1), or use nn.CrossEntropyLoss on the raw scores")
    if ends:
        leaves = leaves[:-1]
    real = [k for k, (_, m) in enumerate(leaves) if not isinstance(m, _Reshape)]
    linears: list[tuple[str, Any]] = []
    activations: list[str | None] = []
    reshapes: list[tuple[str, int, int | None]] = []  # (name, width asked, width at that point)
    for k, (name, m) in enumerate(leaves):
        if isinstance(m, _Reshape):
            reshapes.append((name, m.width, linears[-1][1].out_features if linears else None))
            continue
        if isinstance(m, nn.Linear):
            _check_new_linear(name, m, linears)
            if linears and activations[-1] is None:
                activations[-1] = "linear"
            linears.append((name, m))
            activations.append(None)
            continue
        act = _activation_name(name, m, last=k == real[-1] if real else True)
        if act is None:
            raise StepgradError(f"unsupported layer {name!r} ({type(m).__name__}): {_why(m)}stepgrad reads {supported()}")
        if not linears or activations[-1] is not None:
            raise StepgradError(f"unsupported layer {name!r} ({type(m).__name__}): an activation must follow an nn.Linear")
        activations[-1] = act
    if not linears:
        raise StepgradError(f"no nn.Linear layer in the module: stepgrad reads {supported()}")
    for name, asked, width in reshapes:
        width = linears[0][1].in_features if width is None else width
        if asked != width:
            raise StepgradError(f"unsupported operation {name!r} (a view to width {asked} of {width} features): "
                                "stepgrad reads one row of features per sample")
    return linears, [a or "linear" for a in activations]


def _check_hooks(module: Any, leaves: list[tuple[str, Any]]) -> None:
    """Refuse what changes a step out of stepgrad's sight: hooks on modules or parameters, parametrizations."""
    from torch.nn.utils import parametrize

    for name, m in [(type(module).__name__, module), *((repr(n), m) for n, m in leaves)]:
        if not hasattr(m, "_forward_hooks"):
            continue
        hooks = [kind for kind, held in (("forward", m._forward_hooks), ("forward pre", m._forward_pre_hooks),
                                         ("backward", m._backward_hooks),
                                         ("backward pre", getattr(m, "_backward_pre_hooks", {}))) if held]
        if hooks:
            raise StepgradError(f"layer {name} has a {hooks[0]} hook: stepgrad cannot see what it changes; "
                                "remove it to explain the step")
        if parametrize.is_parametrized(m):
            raise StepgradError(f"layer {name} is parametrized ({', '.join(m.parametrizations)} computed from other "
                                "tensors, e.g. weight_norm): stepgrad explains plain nn.Linear parameters")
        for part, p in m.named_parameters(recurse=False):
            if getattr(p, "_backward_hooks", None):
                raise StepgradError(f"{name.strip(chr(39))}.{part} has a gradient hook (register_hook): stepgrad cannot "
                                    "see what it changes; remove it to explain the step")


def _check_new_linear(name: str, m: Any, linears: list[tuple[str, Any]]) -> None:
    """Refuse a Linear used twice, a parameter two layers share, or widths that do not chain."""
    for other, seen in linears:
        if seen is m:
            where = "called twice in forward()" if other == name else f"used twice in the model (also as {other!r})"
            raise StepgradError(f"layer {name!r} ({m!r}) is {where}: shared parameters are not supported; "
                                "stepgrad explains each parameter used once")
        for part in ("weight", "bias"):
            mine = getattr(m, part)
            if mine is not None and any(mine is getattr(seen, p) for p in ("weight", "bias")):
                raise StepgradError(f"{name}.{part} is the same tensor as a parameter of layer {other!r} (tied "
                                    "weights): shared parameters are not supported; stepgrad explains each "
                                    "parameter used once")
    if linears and m.in_features != linears[-1][1].out_features:
        raise StepgradError(f"layer {name!r} ({m!r}) takes {m.in_features} inputs but the layer before "
                            f"gives {linears[-1][1].out_features}")


# ------------------------------------------------------------------------------------------------
# forward() followed with torch.fx


def traced_leaves(module: Any) -> list[tuple[str, Any]]:
    """(name, module) for each step of an nn.Module's forward(), followed with torch.fx symbolic tracing.

    The forward must be a chain: each operation takes the one before it (the input first). Calls of
    submodules are taken as they are; torch functions (torch.tanh, F.relu ...) become the activation
    module that computes the same, so `layers_of` checks both alike.
    """
    torch = torch_module()
    label = type(module).__name__
    try:
        graph = torch.fx.symbolic_trace(module)
    except Exception as exc:  # fx raises many types for data-dependent control flow and the like
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise StepgradError(f"cannot follow {label}.forward() with torch.fx ({reason}); stepgrad reads "
                            f"chains of {supported()}, or {followed()}") from None
    leaves: list[tuple[str, Any]] = []
    previous = None
    seen: set[Any] = set()  # the chain's nodes so far
    sizes: dict[Any, str] = {}  # x.size(0), x.shape[0] ("batch") and x.shape ("shape") of a chain node
    for node in graph.graph.nodes:
        if node.op == "placeholder":
            if previous is not None:
                raise StepgradError(f"{label}.forward() takes more than one input ({node.name}); stepgrad reads one")
            previous = node
            seen.add(node)
            continue
        size = _batch_size(node, seen, sizes)
        if size is not None:  # the batch size, for x.view(x.size(0), -1): not a step of the chain
            sizes[node] = size
            continue
        if node.op == "get_attr":
            raise StepgradError(f"{label}.forward() reads the parameter {node.target} itself (as F.linear(x, "
                                f"{node.target}.t()) or tied weights do): stepgrad explains nn.Linear layers, each "
                                "parameter used by its own layer once")
        args = [a for a in node.args[1:] if sizes.get(a) != "batch"]  # x.view(x.size(0), -1) is x.view(-1 ...)
        chained = bool(node.args) and node.args[0] is previous and all(
            not isinstance(a, torch.fx.Node) for a in args + list(node.kwargs.values()))
        real = node
        if chained and len(args) < len(node.args) - 1:
            node = _batch_view(node) or node
        if node.op == "output":
            if node.args[0] is not previous:
                raise StepgradError(f"unsupported output of {label}.forward(): it must return the last operation's result")
            break
        found = None
        if node.op == "call_module" and chained and _known_module(graph.get_submodule(node.target)):
            found = (str(node.target), graph.get_submodule(node.target))
        elif node.op in ("call_function", "call_method") and chained:
            computed = _reshape(node) or _log_softmax(node) or _function_module(node)
            found = (node.name, computed) if computed is not None else None
        if found is None:
            what = type(graph.get_submodule(node.target)).__name__ if node.op == "call_module" else _describe(node)
            hint = _why(graph.get_submodule(node.target)) if node.op == "call_module" else \
                (_RANDOM if _describe(node).endswith(" dropout") else "")
            raise StepgradError(f"unsupported operation {node.name!r} ({what}) in {label}.forward(): {hint}"
                                f"stepgrad follows a chain of {supported()}, or {followed()}")
        leaves.append(found)
        previous = real
        seen.add(real)
    return leaves


def _batch_size(node: Any, seen: set[Any], sizes: dict[Any, str]) -> str | None:
    """"batch" for x.size(0) or x.shape[0] of a chain node x, "shape" for x.shape; else None."""
    name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
    args = list(node.args)
    if not args:
        return None
    if name == "size" and node.op == "call_method" and args[0] in seen and args[1:] == [0] and not node.kwargs:
        return "batch"
    if name == "getattr" and args[0] in seen and args[1:] == ["shape"]:
        return "shape"
    if name == "getitem" and sizes.get(args[0]) == "shape" and args[1:] == [0]:
        return "batch"
    return None


class _BatchView:
    """x.view(x.size(0), -1) read as x.view(-1) of one row per sample: `_reshape` sees what it reads."""

    def __init__(self, node: Any) -> None:
        self.op, self.target, self.name, self.kwargs = node.op, node.target, node.name, node.kwargs
        self.args = (node.args[0], -1, -1)


def _batch_view(node: Any) -> Any:
    """x.view(x.size(0), -1) / x.reshape(x.shape[0], -1): the identity on a (samples, features) batch, read as
    x.view(-1, -1)'s stand-in, None for any other use of the batch size."""
    name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
    shape = list(node.args[1:])
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = list(shape[0])
    if name in ("view", "reshape") and len(shape) == 2 and shape[1] == -1 and not node.kwargs:
        return _BatchView(node)
    return None


def _known_module(module: Any) -> bool:
    nn = torch_module().nn
    return isinstance(module, (nn.Linear, nn.Sequential, nn.LogSoftmax)) or _identity(module) or \
        any(type(module) is type(a.torch()) for a in ACTIVATIONS.values())


def _function_module(node: Any) -> Any:
    """The activation module a traced function call computes (with its settings), or None."""
    name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
    kwargs = {k: v for k, v in node.kwargs.items() if k not in ("inplace", "_stacklevel", "dtype")}
    nn = torch_module().nn
    for c in counterparts():
        if name in c.functions and hasattr(nn, c.module):
            try:
                return getattr(nn, c.module)(*node.args[1:], **kwargs)
            except TypeError:
                return None
    return None


def _reshape(node: Any) -> Any:
    """An identity on a 2-D batch (x.flatten(1), torch.flatten(x, 1), F.dropout when not training or p=0)
    or a view to a width; else None."""
    name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
    args = list(node.args[1:])
    if name == "flatten" and dict(zip(("start_dim", "end_dim"), args), **node.kwargs) in (
            {"start_dim": 1}, {"start_dim": 1, "end_dim": -1}):
        return torch_module().nn.Identity()
    if isinstance(node, _BatchView):  # x.view(x.size(0), -1): every feature of each sample, as it is
        return torch_module().nn.Identity()
    if name == "dropout" and node.op == "call_function":  # F.dropout(x, p, training=self.training): fx fixes training
        settings = dict(zip(("p", "training", "inplace"), args), **node.kwargs)
        if settings.get("p", 0.5) == 0 or settings.get("training", True) is False:
            return torch_module().nn.Identity()
    if name in ("view", "reshape") and not node.kwargs:
        shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
        if len(shape) == 2 and shape[0] == -1 and isinstance(shape[1], int) and shape[1] > 0:
            return _Reshape(int(shape[1]))
    return None


def _log_softmax(node: Any) -> Any:
    """nn.LogSoftmax for F.log_softmax(x, dim) / torch.log_softmax / x.log_softmax (layers_of reads it), else None."""
    name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
    if name != "log_softmax":
        return None
    settings = dict(zip(("dim",), node.args[1:]), **node.kwargs)
    if settings.get("dtype") is not None or set(settings) - {"dim", "dtype", "_stacklevel"}:
        return None
    return torch_module().nn.LogSoftmax(dim=settings.get("dim"))


def _describe(node: Any) -> str:
    target = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", repr(node.target))
    return {"call_module": "module", "call_function": "function", "call_method": "method",
            "get_attr": "attribute"}.get(node.op, node.op) + f" {target}"


# ------------------------------------------------------------------------------------------------
# which parameters train


def trainable_of(linears: Sequence[tuple[str, Any]], update_biases: bool | None = None) -> list[bool]:
    """Which parameter tensors of these layers train, in stepgrad's order (every layer's weight, then every layer's
    bias; spec.Network.trainable): each weight and bias that requires gradients, as PyTorch's step moves exactly
    those. A bias that does not exist (nn.Linear(bias=False)) is a bias fixed at 0. update_biases True or False
    overrides the biases' requires_grad (every existing bias trains, or none).
    """
    weights = [bool(m.weight.requires_grad) for _, m in linears]
    biases = [m.bias is not None and (bool(m.bias.requires_grad) if update_biases is None else update_biases)
              for _, m in linears]
    if not any(weights + biases):
        raise StepgradError("no parameter of these layers requires gradients: nothing trains")
    return weights + biases


def _label(prefix: str) -> str:
    return f"{prefix}." if prefix else ""
