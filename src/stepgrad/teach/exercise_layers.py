"""Exercises on a small convolutional network: conv + max-pool + dense with nice, non-saturating numbers,
a problem sheet, the full derivation as the key, and a blank template `stepgrad check` marks.

    >>> ex = generate_conv(seed=3)
    >>> ex.spec["layers"][1]["type"], ex.spec["layers"][2]["type"]
    ('conv2d', 'maxpool')
    >>> sorted(ex.files())
    ['key-values.txt', 'key.md', 'network.json', 'sheet.md', 'solution-template.txt']

The numbers are drawn until the step is a fair hand calculation: the conv layer's nets away from
tanh's flat ends (and from ReLU's kink), every max-pool window with one clear maximum (no ties, no
near ties), the outputs away from saturation and from their targets. The same seed gives the same
exercise (Python's random.Random).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad.core.errors import StepgradError
from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.trace import Trace
from stepgrad.formats.maps import Block, Heading, Paragraph, blocks
from stepgrad.formats.maps_pages import html, latex
from stepgrad.formats.maps_writers import markdown, text
from stepgrad.tracing.layered import explain_layers

ACTIVATIONS = ("tanh", "relu")
LEARNING_RATES = (0.5, 0.25, 0.1)
MAX_CONV_NET = 1.5  # tanh beyond this is flat: derivatives vanish
MIN_KINK = 0.05  # relu: |net| at least this, so the derivative is unambiguous
MIN_GAP = 0.02  # a max-pool window's largest cell beats the next by at least this
MAX_OUT_NET = 2.5  # sigmoid outputs away from 0 and 1
MIN_MISS = 0.05  # every output at least this far from its target
TRIES = 2000


FORMATS = {"markdown": "md", "latex": "tex", "html": "html", "text": "txt"}


@dataclass(frozen=True)
class ConvExercise:
    """A conv + pool + dense exercise: its spec, network and trace (the key)."""

    seed: int
    spec: dict[str, Any]
    network: LayerNetwork
    trace: Trace
    round_to: None = None  # the key is exact (the LMS writers read it as they read a dense exercise's)

    def template(self) -> str:
        """'name = ' for every computed quantity, in the order of the derivation."""
        lines = [f"# Convolution exercise, seed {self.seed}: write each value after its '='."]
        lines += [f"{step.name} = " for step in self.trace if step.text]
        return "\n".join(lines) + "\n"

    def key_values(self, digits: int = 9) -> str:
        """The template filled with the key's values (what `stepgrad check` marks all correct)."""
        return "".join(f"{step.name} = {step.value:.{digits}g}\n" for step in self.trace if step.text)

    def _given(self) -> list[Block]:
        given: list[Block] = []
        for block in blocks(self.trace, 4):
            if isinstance(block, Heading) and block.text.startswith("Forward pass"):
                break
            given.append(block)
        return given

    def sheet(self, fmt: str = "markdown", student: str | None = None) -> str:
        """The problem: the conventions (stride, padding, cross-correlation, the tie rule) and the given values."""
        ask = Paragraph("Compute one training step by hand: the forward pass, the error, every gradient and the "
                        "new parameters, and write them into solution-template.txt.")
        title = f"Convolution exercise ({student})" if student else f"Convolution exercise (seed {self.seed})"
        return _write(fmt, title, [*self._given(), ask])

    def key(self, fmt: str = "markdown", digits: int = 9) -> str:
        """The full derivation (every position and kernel entry)."""
        return _write(fmt, f"Key: convolution exercise (seed {self.seed})", blocks(self.trace, digits, full=True))

    def files(self, fmt: str = "markdown", digits: int = 9) -> dict[str, str]:
        """File name -> text: sheet.EXT, key.EXT, solution-template.txt, key-values.txt and network.json (for
        `check --network`)."""
        ext = FORMATS[fmt]
        return {f"sheet.{ext}": self.sheet(fmt), f"key.{ext}": self.key(fmt, digits),
                "solution-template.txt": self.template(), "key-values.txt": self.key_values(digits),
                "network.json": json.dumps(self.spec, indent=2) + "\n"}


def _write(fmt: str, title: str, items: list[Block]) -> str:
    """The blocks in one format, titled."""
    if fmt == "markdown":
        return f"# {title}\n\n" + markdown(items)
    if fmt == "text":
        return f"{title}\n\n" + text(items)
    if fmt == "latex":
        return latex(items, title)
    if fmt == "html":
        return html(items, title)
    raise StepgradError(f"expected one of {', '.join(FORMATS)}, got {fmt!r}", where="--format")


def _grid(rng: random.Random, rows: int, cols: int, low: float, high: float, step: float) -> list[list[float]]:
    count = round((high - low) / step)
    return [[round(low + step * rng.randint(0, count), 2) for _ in range(cols)] for _ in range(rows)]


def _draw(rng: random.Random) -> dict[str, Any]:
    activation = rng.choice(ACTIVATIONS)
    return {
        "loss": "half_squared_error", "learning_rate": rng.choice(LEARNING_RATES), "update_biases": True,
        "layers": [
            {"type": "input", "shape": [1, 4, 4]},
            {"type": "conv2d", "out_channels": 1, "kernel": 2, "activation": activation,
             "weights": [[_grid(rng, 2, 2, -0.9, 0.9, 0.01)]], "biases": [round(rng.uniform(-0.3, 0.3), 2)]},
            {"type": "maxpool", "kernel": 2, "stride": 1},
            {"type": "flatten"},
            {"type": "dense", "neurons": 2, "activation": "sigmoid",
             "weights": _grid(rng, 2, 4, -0.9, 0.9, 0.01), "biases": [round(rng.uniform(-0.3, 0.3), 2) for _ in "ab"]},
        ],
        "samples": [{"inputs": _grid(rng, 4, 4, 0.0, 1.0, 0.1),
                     "targets": [round(rng.randint(1, 9) / 10, 1) for _ in "ab"]}],
    }


def _fair(net: LayerNetwork) -> bool:
    """Whether one step of `net` is a fair hand calculation (see the module docstring)."""
    fwd = engine.forward(net, net.inputs, net.targets)  # type: ignore[arg-type]
    conv, pool, dense = (fwd.values[label] for label in ("c1", "p1", "d1"))
    z = conv.net[0, 0]
    if net.layers[0].activation == "tanh" and np.abs(z).max() > MAX_CONV_NET:
        return False
    if net.layers[0].activation == "relu" and (np.abs(z).min() < MIN_KINK or (z > 0).sum() < 3):
        return False
    out = conv.out[0, 0]
    for r in range(2):
        for c in range(2):
            window = np.sort(out[r:r + 2, c:c + 2].ravel())
            if window[-1] - window[-2] < MIN_GAP:
                return False
    if np.abs(dense.net).max() > MAX_OUT_NET:
        return False
    return bool(np.abs(fwd.output - net.targets).min() >= MIN_MISS)


def generate_conv(seed: int = 0) -> ConvExercise:
    """A conv (2x2 kernel on a 4x4 image) + max-pool (2x2, stride 1) + dense (2 sigmoid outputs) exercise."""
    rng = random.Random(seed)
    for _ in range(TRIES):
        spec = _draw(rng)
        net = LayerNetwork.from_dict(spec, f"<exercise seed {seed}>")
        if _fair(net):
            return ConvExercise(seed, spec, net, explain_layers(net))
    raise StepgradError(f"no fair exercise found for seed {seed} in {TRIES} draws; try another seed")


__all__ = ["ConvExercise", "generate_conv"]
