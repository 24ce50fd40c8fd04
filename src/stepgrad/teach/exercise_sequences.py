"""Exercises on sequence models: an rnn over a few steps, an attention head, layernorm, batchnorm in training mode.

    >>> ex = generate_sequence("rnn", seed=3)
    >>> ex.spec["layers"][1]["type"], sorted(ex.files())
    ('rnn', ['key.md', 'network.json', 'sheet.md', 'solution-template.txt'])

Each kind is a small network with nice numbers (one or two decimals), drawn until one training step is
a fair hand calculation and its classic mistakes show: every tanh net within +-1.5 (no flat ends),
outputs away from saturation and from their targets; the rnn's Wh gradient not carried by its last
step alone (dropping the earlier steps' terms changes it by 10 % or more); the attention weights of
every query with two keys or more between 0.1 and 0.85 (not one-hot), and the forgotten 1/sqrt(d_k)
scale visible in the last query's weights; a normalization group's variance at least 0.05 (xhat not
blown up by a tiny variance). The same kind and seed give the same exercise (Python's random.Random);
`variants` gives each student of a roster their own (seeded by their id, teach/variants.seed_for).
The exercise offers what teach/lms.py's writers read (network, trace, seed, round_to, sheet), so its
quizzes are theirs.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad.core.errors import StepgradError
from stepgrad.core.layers import engine
from stepgrad.core.layers.attention import Attention
from stepgrad.core.layers.rnn import Rnn
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.trace import Trace
from stepgrad.formats.maps import Heading, Paragraph, blocks
from stepgrad.formats.maps_pages import html, latex
from stepgrad.formats.maps_writers import markdown, text
from stepgrad.tracing.layered import explain_layers

KINDS = ("rnn", "attention", "layernorm", "batchnorm")
LEARNING_RATES = (0.5, 0.25, 0.1)
MAX_TANH_NET = 1.5  # tanh beyond this is flat: derivatives vanish
MAX_OUT_NET = 2.5  # sigmoid outputs away from 0 and 1
MIN_MISS = 0.05  # every output at least this far from its target
MIN_LATER_SHARE = 0.1  # the rnn's Wh gradient: the earlier steps' terms change it by at least this share
WEIGHT_RANGE = (0.1, 0.85)  # the attention weights of a query with two keys or more
MIN_SCALE_EFFECT = 0.02  # the last query's weights with and without 1/sqrt(d_k) differ by at least this
MIN_VARIANCE = 0.05  # a normalization group's variance
TRIES = 3000
TITLES = {"rnn": "Recurrent network (BPTT)", "attention": "Attention head", "layernorm": "Layer normalization",
          "batchnorm": "Batch normalization"}


@dataclass(frozen=True)
class SequenceExercise:
    """A sequence-model exercise: its kind, seed, spec, network and trace (the key)."""

    kind: str
    seed: int
    spec: dict[str, Any]
    network: LayerNetwork
    trace: Trace
    round_to: int | None = None  # the hand-rounding rule check applies (None: exact arithmetic)

    def template(self) -> str:
        """'name = ' for every computed quantity, in the order of the derivation."""
        lines = [f"# {TITLES[self.kind]} exercise, seed {self.seed}: write each value after its '='."]
        lines += [f"{step.name} = " for step in self.trace if step.text]
        return "\n".join(lines) + "\n"

    def sheet(self, fmt: str = "markdown", diagram: str | None = None, student: str | None = None) -> str:
        """The problem in `fmt` (markdown, latex, html, text): the conventions and the given values."""
        given = []
        for block in blocks(self.trace, 4):
            if isinstance(block, Heading) and block.text.startswith("Forward pass"):
                break
            given.append(block)
        ask = Paragraph("Compute one training step by hand: the forward pass, the error, every gradient and the "
                        "new parameters, and write them into solution-template.txt.")
        who = f" for {student}" if student else ""
        return _write(fmt, f"{TITLES[self.kind]} exercise{who} (seed {self.seed})", [*given, ask])

    def key(self, fmt: str = "markdown", digits: int = 9) -> str:
        """The full derivation in `fmt` (every time step, query and group)."""
        return _write(fmt, f"Key: {TITLES[self.kind]} exercise (seed {self.seed})", blocks(self.trace, digits, full=True))

    def files(self, fmt: str = "markdown", digits: int = 9) -> dict[str, str]:
        """File name -> text: sheet.EXT, key.EXT, solution-template.txt, network.json (for `check --network`)."""
        if fmt not in EXTENSIONS:
            raise StepgradError(f"expected one of {', '.join(EXTENSIONS)}, got {fmt!r}", where="--format")
        ext = EXTENSIONS[fmt]
        return {f"sheet.{ext}": self.sheet(fmt), f"key.{ext}": self.key(fmt, digits),
                "solution-template.txt": self.template(), "network.json": json.dumps(self.spec, indent=2) + "\n"}


EXTENSIONS = {"markdown": "md", "latex": "tex", "html": "html", "text": "txt"}


def _write(fmt: str, title: str, items: list[Any]) -> str:
    """The blocks in `fmt` by formats/maps_writers and maps_pages, `title` first."""
    if fmt == "markdown":
        return f"# {title}\n\n" + markdown(items)
    writers = {"latex": latex, "html": html, "text": text}
    if fmt not in writers:
        raise StepgradError(f"expected one of {', '.join(EXTENSIONS)}, got {fmt!r}", where="--format")
    return writers[fmt]([Heading(title), *items])


def _nice(rng: random.Random, low: float, high: float, step: float, shape: tuple[int, ...] = ()) -> Any:
    """Numbers from low to high in steps of `step` (0.1, 0.01): nested lists of `shape`, or one number."""
    if shape:
        return [_nice(rng, low, high, step, shape[1:]) for _ in range(shape[0])]
    count = round((high - low) / step)
    return round(low + step * rng.randint(0, count), 2)


def _targets(rng: random.Random, count: int) -> list[float]:
    return [round(rng.randint(1, 9) / 10, 1) for _ in range(count)]


def _output(rng: random.Random, inputs: int) -> dict[str, Any]:
    return {"type": "dense", "neurons": 1, "activation": "sigmoid", "weights": _nice(rng, -0.9, 0.9, 0.1, (1, inputs)),
            "biases": [_nice(rng, -0.2, 0.2, 0.1)]}


def _draw(kind: str, rng: random.Random) -> dict[str, Any]:
    spec: dict[str, Any] = {"loss": "half_squared_error", "learning_rate": rng.choice(LEARNING_RATES),
                            "update_biases": True}
    if kind == "rnn":
        steps = rng.choice((2, 3))
        layers: list[Any] = [
            {"type": "sequence", "steps": steps, "features": 1},
            {"type": "rnn", "hidden": 2, "activation": "tanh", "output": "last",
             "weights_x": _nice(rng, -0.9, 0.9, 0.1, (2, 1)), "weights_h": _nice(rng, -0.9, 0.9, 0.1, (2, 2)),
             "biases": _nice(rng, -0.2, 0.2, 0.1, (2,))},
            _output(rng, 2)]
        samples = [{"inputs": _nice(rng, -1.0, 1.0, 0.1, (steps, 1)), "targets": _targets(rng, 1)}]
    elif kind == "attention":
        layers = [
            {"type": "sequence", "steps": 3, "features": 2},
            {"type": "attention", "key_size": 2, "causal": rng.random() < 0.5, "output": "last", "bias": False,
             **{f"weights_{p}": _nice(rng, -1.2, 1.2, 0.1, (2, 2)) for p in "qkvo"}},
            _output(rng, 2)]
        samples = [{"inputs": _nice(rng, -1.0, 1.0, 0.1, (3, 2)), "targets": _targets(rng, 1)}]
    elif kind == "layernorm":
        layers = [
            {"type": "input", "shape": [3]},
            {"type": "layernorm", "gamma": _nice(rng, 0.5, 1.5, 0.1, (3,)), "beta": _nice(rng, -0.3, 0.3, 0.1, (3,))},
            {"type": "dense", "neurons": 2, "activation": "sigmoid", "weights": _nice(rng, -0.9, 0.9, 0.1, (2, 3)),
             "biases": _nice(rng, -0.2, 0.2, 0.1, (2,))}]
        samples = [{"inputs": _nice(rng, -1.0, 1.0, 0.1, (3,)), "targets": _targets(rng, 2)}]
    elif kind == "batchnorm":
        layers = [
            {"type": "input", "shape": [2]},
            {"type": "dense", "neurons": 2, "activation": "tanh", "bias": False,
             "weights": _nice(rng, -0.9, 0.9, 0.1, (2, 2))},
            {"type": "batchnorm", "mode": "training", "gamma": _nice(rng, 0.5, 1.5, 0.1, (2,)),
             "beta": _nice(rng, -0.3, 0.3, 0.1, (2,))},
            _output(rng, 2)]
        samples = [{"inputs": _nice(rng, -1.0, 1.0, 0.1, (2,)), "targets": _targets(rng, 1)} for _ in range(3)]
    else:
        raise StepgradError(f"expected one of {', '.join(KINDS)}, got {kind!r}", where="--layers")
    return {**spec, "layers": layers, "samples": samples}


def _fair(net: LayerNetwork) -> bool:
    """Whether one step of `net` is a fair hand calculation whose classic mistakes show (module docstring)."""
    assert net.inputs is not None and net.targets is not None
    rec = engine.step(net, net.inputs, net.targets)
    values = rec.forward.values
    for layer in net.all_layers():
        cache = values[layer.label].cache
        if isinstance(layer, Rnn):
            if np.abs(cache["net"]).max() > MAX_TANH_NET:
                return False
            for j in range(2):
                for k in range(2):
                    terms = [float(np.sum(term)) for *_, term in layer.plan(cache, "weight_h", (j + 1, k + 1))]
                    total = sum(terms)
                    if abs(total - terms[-1]) < MIN_LATER_SHARE * abs(total) or abs(total) < 1e-3:
                        return False
        if isinstance(layer, Attention) and not _fair_attention(net, layer, cache):
            return False
        if layer.kind in ("layernorm", "batchnorm") and cache["var"].min() < MIN_VARIANCE:
            return False
        if layer.kind == "dense" and layer.activation == "tanh" and np.abs(values[layer.label].net).max() > MAX_TANH_NET:
            return False
    if np.abs(values[net.layers[-1].label].net).max() > MAX_OUT_NET:
        return False
    return bool(np.abs(rec.forward.output - net.targets).min() >= MIN_MISS)


def _fair_attention(net: LayerNetwork, layer: Attention, cache: dict[str, Any]) -> bool:
    a, masked = cache["a"][0], cache["mask"]
    for i in range(a.shape[0]):
        keys = a[i][~masked[i]]
        if len(keys) > 1 and (keys.min() < WEIGHT_RANGE[0] or keys.max() > WEIGHT_RANGE[1]):
            return False
    unscaled = net.copy()
    unscaled.all_layers()[net.all_layers().index(layer)].scaled = False  # type: ignore[attr-defined]
    assert net.inputs is not None
    other = engine.forward(unscaled, net.inputs).values[layer.label].cache["a"][0]
    return bool(np.abs(other[-1] - a[-1]).max() >= MIN_SCALE_EFFECT)


def generate_sequence(kind: str = "rnn", seed: int = 0) -> SequenceExercise:
    """A sequence-model exercise of `kind` (rnn, attention, layernorm, batchnorm) with fair numbers."""
    if kind not in KINDS:
        raise StepgradError(f"expected one of {', '.join(KINDS)}, got {kind!r}", where="--layers")
    rng = random.Random(f"{kind}:{seed}")
    for _ in range(TRIES):
        spec = _draw(kind, rng)
        net = LayerNetwork.from_dict(spec, f"<{kind} exercise seed {seed}>")
        if _fair(net):
            return SequenceExercise(kind, seed, spec, net, explain_layers(net))
    raise StepgradError(f"no fair {kind} exercise found for seed {seed} in {TRIES} draws; try another seed")


def variants(kind: str, roster: str, base: int = 0) -> list[tuple[str, str, SequenceExercise]]:
    """(student id, name, exercise) for every student of the roster, each seeded by their id."""
    from stepgrad.teach.classroom import iter_students
    from stepgrad.teach.variants import seed_for

    return [(sid, name, generate_sequence(kind, seed_for(sid, base))) for sid, name in iter_students(roster)]


__all__ = ["KINDS", "SequenceExercise", "generate_sequence", "variants"]
