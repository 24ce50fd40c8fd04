"""What an explanation of a PyTorch model says about PyTorch: each weight's torch name beside the deck's,
biases held fixed, and the precision the model computes in.

`stepgrad.explain_torch(model, ...)` reads the model itself; a spec that records its PyTorch model (a `[torch]`
table, core/torch_record.py: `stepgrad import`, `stepgrad.from_torch`) is named the same way by every
explanation of it (`stepgrad explain`, `stepgrad serve`):

    >>> net = stepgrad.loads('''
    ... layers = [2, 2, 2]
    ... weights = [[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]]
    ... biases = [[0.35, 0.35], [0.6, 0.6]]
    ... samples = [{inputs = [0.05, 0.1], targets = [0.01, 0.99]}]
    ... torch = {model = "Net", modules = ["fc1", "fc2"]}
    ... ''')
    >>> trace = stepgrad.explain(net)
    >>> trace.meta["torch"]["names"]["w2"], trace.step("w2").note
    ('fc1.weight[0, 1]', 'PyTorch: fc1.weight[0, 1]')

The given section's introduction (shown by every format) lists the ranges (`w1..w4 = fc1.weight[0, 0]..[1, 1]`,
row by row), each given weight and bias carries its torch name as its note, and `trace.meta["torch"]`
holds the whole map, the fixed biases and the model's dtype.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from stepgrad.core.names import layout
from stepgrad.core.spec import Network
from stepgrad.core.torch_record import record, table
from stepgrad.core.trace import Section, Trace
from stepgrad.tracing.held import NOTE, held_sentences


@dataclass(frozen=True)
class TorchModel:
    """What the explanation says about the model: its nn.Linear layers' names, which have a bias and which
    biases require gradients, and its parameters' dtype."""

    label: str  # the model's class name
    layers: tuple[str, ...]  # each nn.Linear's state_dict prefix ("0", "fc1", "" for a bare Linear)
    has_bias: tuple[bool, ...]
    bias_trains: tuple[bool, ...]
    dtype: str  # "float32", "float64" ...
    from_spec: bool = False  # read from a spec's [torch] table (its update_biases says which biases train)
    notes: tuple[str, ...] = ()  # more sentences for the given section (a loss that applies an activation itself)
    weight_trains: tuple[bool, ...] = ()  # per layer: whether its weight requires gradients (empty: every one)

    @classmethod
    def read(cls, module: Any, linears: list[tuple[str, Any]]) -> TorchModel:
        """The description of `module`, whose layers layers_of read as `linears`."""
        dtypes = {str(p.dtype).replace("torch.", "") for p in module.parameters()}
        return cls(type(module).__name__, tuple(name for name, _ in linears),
                   tuple(m.bias is not None for _, m in linears),
                   tuple(m.bias is not None and m.bias.requires_grad for _, m in linears),
                   ", ".join(sorted(dtypes)) or "float64",
                   weight_trains=tuple(bool(m.weight.requires_grad) for _, m in linears))


    @classmethod
    def of(cls, net: Network) -> TorchModel | None:
        """The model a spec's `[torch]` table records (None: it has none, or it no longer fits the network)."""
        found = record(net)
        if found is None:
            return None
        has, trains = tuple(found["bias"]), net.trains()
        return cls(found["model"] or "the model", tuple(found["modules"]), has,
                   tuple(h and trains[net.depth + l] for l, h in enumerate(has)), found["dtype"], from_spec=True,
                   weight_trains=tuple(trains[:net.depth]))

    def record(self, widths: list[int]) -> dict[str, Any]:
        """The `[torch]` table of a spec made from this model, whose layers have `widths` (core/torch_record.py)."""
        return table(self.label, list(self.layers), list(self.has_bias), layers=widths)


def dressed(trace: Trace, net: Network) -> Trace:
    """`trace` annotated with the PyTorch names its network's `[torch]` table records (as is when it has none)."""
    model = TorchModel.of(net)
    return trace if model is None or "torch" in trace.meta else annotate(trace, net, model)


def _prefix(name: str) -> str:
    return f"{name}." if name else ""


def torch_names(net: Network, model: TorchModel) -> dict[str, str]:
    """stepgrad name -> torch name of every weight and bias entry (`w2` -> `fc1.weight[0, 1]`)."""
    names = layout(net.layers, net.shared_biases or [False] * net.depth)
    found: dict[str, str] = {}
    for l, prefix in enumerate(model.layers):
        for j, row in enumerate(names.weights[l]):
            for i, w in enumerate(row):
                found[w] = f"{_prefix(prefix)}weight[{j}, {i}]"
        for j, b in enumerate(names.biases[l]):
            found[b] = f"{_prefix(prefix)}bias[{j}]" if model.has_bias[l] else f"(none: {prefix or 'the layer'} has no bias)"
    return found


def _ranges(net: Network, model: TorchModel) -> list[str]:
    names = layout(net.layers, net.shared_biases or [False] * net.depth)
    parts = []
    for l, prefix in enumerate(model.layers):
        rows = names.weights[l]
        last = (len(rows) - 1, len(rows[0]) - 1)
        parts.append(f"{rows[0][0]}..{rows[-1][-1]} = {_prefix(prefix)}weight[0, 0]..[{last[0]}, {last[1]}]")
        biases = names.biases[l]
        if model.has_bias[l]:
            parts.append(f"{biases[0]}..{biases[-1]} = {_prefix(prefix)}bias[0]..[{len(biases) - 1}]")
    return parts


def _notes(net: Network, model: TorchModel, computed_in: str = "float64") -> list[str]:
    """Sentences about what this step keeps fixed and the precision, for the given section."""
    names = layout(net.layers, net.shared_biases or [False] * net.depth)
    notes = []
    missing = [l for l, has in enumerate(model.has_bias) if not has]
    frozen = [l for l, has in enumerate(model.has_bias) if has and not model.bias_trains[l]]
    if missing:
        which = ", ".join(f"{names.biases[l][0]}..{names.biases[l][-1]}" for l in missing)
        layers = ", ".join(repr(model.layers[l]) for l in missing)
        notes.append(f"Layer {layers} has no bias (nn.Linear(..., bias=False)): {which} are 0 and stay 0.")
    frozen_weights = [l for l, trains in enumerate(model.weight_trains) if not trains]
    if frozen or frozen_weights:
        tensors = [f"{_prefix(model.layers[l])}weight" for l in frozen_weights]
        tensors += [f"{_prefix(model.layers[l])}bias" for l in frozen]
        params, one = ", ".join(tensors), len(tensors) == 1
        if model.from_spec:
            keys = " and ".join(k for k, used in (("update_weights", frozen_weights), ("update_biases", frozen)) if used)
            notes.append(f"{params} {'is' if one else 'are'} held fixed ({keys}), as PyTorch's step keeps a "
                         "parameter that does not require gradients.")
        else:
            notes.append(f"{params} {'does' if one else 'do'} not require gradients (frozen): "
                         f"{'it is' if one else 'they are'} held fixed, as PyTorch's step keeps "
                         f"{'it' if one else 'them'}.")
    if model.dtype != "float64" and computed_in == "float64":
        notes.append(f"The model's parameters are {model.dtype}; this step is computed in float64, so PyTorch's own "
                     f"{model.dtype} step differs from these numbers by {model.dtype}'s rounding "
                     "(about 1e-7 relative for float32).")
    return notes + list(model.notes)


def _frozen_in_torch(section: Section, net: Network, model: TorchModel) -> Section:
    """An update section whose held parameters are said to be frozen in the torch model (tracing/held.py)."""
    def why(l: int, role: str) -> str:
        return f"frozen in the torch model: {_prefix(model.layers[l])}{'weight' if role == 'weights' else 'bias'}"

    layers = list(range(net.depth))
    intro = section.intro
    for ours, theirs in zip(held_sentences(net, layers), held_sentences(net, layers, why)):
        intro = intro.replace(ours, theirs)
    mapping = torch_names(net, model)
    steps = tuple(replace(s, note=f"fixed: frozen in the torch model ({mapping[s.subject]})")
                  if s.note == NOTE and s.subject in mapping else s for s in section.steps)
    return Section(section.key, section.title, steps, intro)


def annotate(trace: Trace, net: Network, model: TorchModel) -> Trace:
    """The trace with PyTorch's names and what this step keeps fixed, in the given section and in meta."""
    mapping = torch_names(net, model)
    intro = f"In PyTorch ({model.label}): " + "; ".join(_ranges(net, model)) + ", row by row."
    extra = " ".join([intro, *_notes(net, model, trace.meta.get("dtype", "float64"))])
    sections = []
    for section in trace.sections:
        if section.key.startswith("update"):
            section = _frozen_in_torch(section, net, model)
        if section.key == "given":
            steps = tuple(replace(s, note=s.note or f"PyTorch: {mapping[s.name]}") if s.name in mapping else s
                          for s in section.steps)
            section = Section(section.key, section.title, steps, f"{section.intro} {extra}".strip())
        sections.append(section)
    names = layout(net.layers, net.shared_biases or [False] * net.depth)
    fixed = [w for l in range(net.depth) if model.weight_trains and not model.weight_trains[l]
             for row in names.weights[l] for w in row]
    fixed += [b for l, prefix in enumerate(model.layers) if not model.bias_trains[l] for b in names.biases[l]]
    meta = dict(trace.meta, torch={"model": model.label, "names": mapping, "fixed": fixed, "dtype": model.dtype,
                                   "computed_in": trace.meta.get("dtype", "float64")})
    return Trace(tuple(sections), meta, trace.context)

