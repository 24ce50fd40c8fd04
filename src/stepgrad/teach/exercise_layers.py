"""Exercises on a small convolutional network: conv + max-pool + dense with nice, non-saturating numbers,
a problem sheet, the full derivation as the key, and a blank template `stepgrad check` marks.

    >>> ex = generate_conv(seed=3)
    >>> ex.spec["layers"][1]["type"], ex.spec["layers"][2]["type"]
    ('conv2d', 'maxpool')
    >>> sorted(ex.files())
    ['key-values.txt', 'key.md', 'network.json', 'sheet.md', 'solution-template.txt']
    >>> generate_conv(seed=3, shape="strided").spec["layers"][1]["stride"]
    2

The shape of the problem (SHAPES) picks the convention it drills: `basic` (one channel, a 4x4 image,
a 2x2 kernel, stride 1, no padding, a 2x2 max-pool of stride 1), `strided` (the same with stride 2 and
padding 1), `channels` (a 2-channel 3x3 image, 2 output channels), `avgpool` (basic with an average
pool). Each shape's numbers are also drawn so that its classic mistake changes an asked value by at
least VISIBLE (the kernel flipped; the stride or the padding off; a kernel gradient summed across the
output channels; the average pool's 1/4 forgotten); in `strided`, the stride-1 and the padding-forgotten
kernel gradients each differ somewhere from every other geometry's too, so that the checker can tell them apart.

A batch of `samples` images (each with its targets; the gradients the spec's reduction, mean or sum, over them)
and a hand-calculation key (`round_to`: every value rounded to that many decimals and carried on, as
`stepgrad check --round` marks it; teach/check/rounded_layers.py) are options, as for the dense exercise.

The numbers are drawn until the step is a fair hand calculation (every sample's): the conv layer's nets away from
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
from stepgrad.core.layers.conv import Conv
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.trace import Trace
from stepgrad.formats.maps import Block, Heading, Paragraph, blocks
from stepgrad.formats.maps_pages import html, latex
from stepgrad.formats.maps_writers import markdown, text
from stepgrad.teach.check.rounded_layers import rounded_layers
from stepgrad.tracing.layered import explain_layers

ACTIVATIONS = ("tanh", "relu")
LEARNING_RATES = (0.5, 0.25, 0.1)
MAX_CONV_NET = 1.5  # tanh beyond this is flat: derivatives vanish
MIN_KINK = 0.05  # relu: |net| at least this, so the derivative is unambiguous
MIN_GAP = 0.02  # a max-pool window's largest cell beats the next by at least this
MAX_OUT_NET = 2.5  # sigmoid outputs away from 0 and 1
MIN_MISS = 0.05  # every output at least this far from its target
VISIBLE = 0.01  # the shape's classic mistake changes some asked value by at least this
TRIES = 2000
SHAPES = ("basic", "strided", "channels", "avgpool")


FORMATS = {"markdown": "md", "latex": "tex", "html": "html", "text": "txt"}


@dataclass(frozen=True)
class ConvExercise:
    """A conv + pool + dense exercise: its spec, network and trace (the key)."""

    seed: int
    spec: dict[str, Any]
    network: LayerNetwork
    trace: Trace
    shape: str = "basic"  # one of SHAPES
    round_to: int | None = None  # hand calculation: the key rounds every value to this many decimals and carries it on

    def template(self) -> str:
        """'name = ' for every computed quantity, in the order of the derivation."""
        lines = [f"# Convolution exercise, seed {self.seed}: write each value after its '='."]
        if self.round_to is not None:
            lines.append(f"# Round every value to {self.round_to} decimals and carry the rounded value on "
                         f"(stepgrad check --round {self.round_to}).")
        lines += [f"{step.name} = " for step in self.trace if step.text]
        return "\n".join(lines) + "\n"

    def key_values(self, digits: int = 9) -> str:
        """The template filled with the key's values (what `stepgrad check` marks all correct): at the sheet's
        precision in hand calculation (every value rounded to round_to decimals), else to `digits` digits."""
        shown = (lambda v: f"{v:.{self.round_to}f}") if self.round_to is not None else (lambda v: f"{v:.{digits}g}")
        return "".join(f"{step.name} = {shown(step.value)}\n" for step in self.trace if step.text)

    def _given(self) -> list[Block]:
        given: list[Block] = []
        for block in blocks(self.trace, 4):
            if isinstance(block, Heading) and block.text.startswith("Forward pass"):
                break
            given.append(block)
        return given

    def sheet(self, fmt: str = "markdown", student: str | None = None) -> str:
        """The problem: the conventions (stride, padding, cross-correlation, the tie rule) and the given values."""
        samples = self.network.inputs.shape[0] if self.network.inputs is not None else 1
        batch = (f" There are {samples} samples: compute every quantity per sample (names end in [k]); each gradient "
                 f"is the {'sum' if self.network.reduction == 'sum' else 'mean'} over the samples." if samples > 1 else "")
        rounding = (f" Round every value you compute to {self.round_to} decimals and carry the rounded value on."
                    if self.round_to is not None else "")
        ask = Paragraph("Compute one training step by hand: the forward pass, the error, every gradient and the "
                        "new parameters, and write them into solution-template.txt." + batch + rounding)
        title = f"Convolution exercise ({student})" if student else f"Convolution exercise (seed {self.seed})"
        return write_blocks(fmt, title, [*self._given(), ask])

    def key(self, fmt: str = "markdown", digits: int = 9) -> str:
        """The full derivation (every position and kernel entry)."""
        return write_blocks(fmt, f"Key: convolution exercise (seed {self.seed})", blocks(self.trace, digits, full=True))

    def files(self, fmt: str = "markdown", digits: int = 9) -> dict[str, str]:
        """File name -> text: sheet.EXT, key.EXT, solution-template.txt, key-values.txt and network.json (for
        `check --network`)."""
        ext = FORMATS[fmt]
        return {f"sheet.{ext}": self.sheet(fmt), f"key.{ext}": self.key(fmt, digits),
                "solution-template.txt": self.template(), "key-values.txt": self.key_values(digits),
                "network.json": json.dumps(self.spec, indent=2) + "\n"}


def write_blocks(fmt: str, title: str, items: list[Block]) -> str:
    """The blocks in one format (markdown, latex, html, text), titled."""
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


def _draw(rng: random.Random, shape: str = "basic", samples: int = 1, reduction: str = "mean") -> dict[str, Any]:
    activation = rng.choice(ACTIVATIONS)
    channels, size = (2, 3) if shape == "channels" else (1, 4)
    stride, padding = (2, 1) if shape == "strided" else (1, 0)
    conv_size = (size + 2 * padding - 2) // stride + 1
    flat = channels * (conv_size - 1) ** 2  # a 2x2 pool of stride 1
    conv: dict[str, Any] = {"type": "conv2d", "out_channels": channels, "kernel": 2}
    if shape == "strided":
        conv.update(stride=stride, padding=padding)
    spec = {
        "loss": "half_squared_error", "learning_rate": rng.choice(LEARNING_RATES), "update_biases": True,
        "layers": [
            {"type": "input", "shape": [channels, size, size]},
            {**conv, "activation": activation,
             "weights": [[_grid(rng, 2, 2, -0.9, 0.9, 0.01) for _ in range(channels)] for _ in range(channels)],
             "biases": [round(rng.uniform(-0.3, 0.3), 2) for _ in range(channels)]},
            {"type": "avgpool" if shape == "avgpool" else "maxpool", "kernel": 2, "stride": 1},
            {"type": "flatten"},
            {"type": "dense", "neurons": 2, "activation": "sigmoid",
             "weights": _grid(rng, 2, flat, -0.9, 0.9, 0.01),
             "biases": [round(rng.uniform(-0.3, 0.3), 2) for _ in "ab"]},
        ],
    }
    drawn: list[dict[str, Any]] = []
    for _ in range(samples):
        image = [_grid(rng, size, size, 0.0, 1.0, 0.1) for _ in range(channels)]
        drawn.append({"inputs": image[0] if channels == 1 else image,
                      "targets": [round(rng.randint(1, 9) / 10, 1) for _ in "ab"]})
    spec["samples"] = drawn
    if samples > 1:
        spec["reduction"] = reduction
    return spec


def _fair(net: LayerNetwork, shape: str = "basic") -> bool:
    """Whether one step of `net` is a fair hand calculation (see the module docstring)."""
    fwd = engine.forward(net, net.inputs, net.targets)  # type: ignore[arg-type]
    conv, dense = fwd.values["c1"], fwd.values["d1"]
    for z in conv.net:  # each sample's maps
        if net.layers[0].activation == "tanh" and np.abs(z).max() > MAX_CONV_NET:
            return False
        if net.layers[0].activation == "relu" and (np.abs(z).min() < MIN_KINK or (z > 0).sum() < 3 * z.shape[0]):
            return False
    if shape != "avgpool":
        for plane in conv.out.reshape(-1, *conv.out.shape[2:]):
            for r in range(plane.shape[0] - 1):
                for c in range(plane.shape[1] - 1):
                    window = np.sort(plane[r:r + 2, c:c + 2].ravel())
                    if window[-1] - window[-2] < MIN_GAP:
                        return False
    if np.abs(dense.net).max() > MAX_OUT_NET:
        return False
    if np.abs(fwd.output - net.targets).min() < MIN_MISS:
        return False
    return _mistake_visible(net, shape)


def _kernel_gradient(x: np.ndarray, d_net: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """dE_total/dk[o,i,p,q] of a 2x2 kernel from the conv's input x[i] and errors d_net[o], windows placed with
    `stride` and `padding` (what a student's backward pass does with the layer's geometry or a mistaken one)."""
    padded = np.pad(x, ((0, 0), (padding, padding + 2 * stride), (padding, padding + 2 * stride)))
    rows, cols = d_net.shape[1:]
    grad = np.zeros((d_net.shape[0], x.shape[0], 2, 2))
    for p in range(2):
        for q in range(2):
            window = padded[:, p:p + stride * rows:stride, q:q + stride * cols:stride][:, :rows, :cols]
            grad[:, :, p, q] = np.einsum("orc,irc->oi", d_net, window)
    return grad


def _mistake_visible(net: LayerNetwork, shape: str) -> bool:
    """Whether the shape's classic mistake changes an asked value by at least VISIBLE."""
    rec = engine.step(net, net.inputs, net.targets)  # type: ignore[arg-type]
    conv = rec.forward.values["c1"]
    layer = conv.layer
    assert isinstance(layer, Conv)
    if shape == "basic":  # the kernel flipped: other nets
        kernel = layer.params["kernel"]
        return bool(np.abs(kernel - kernel[..., ::-1, ::-1]).max() >= VISIBLE)
    assert conv.d_net is not None
    x, d_net = conv.input[0], conv.d_net[0]
    if shape == "avgpool":  # dE_total/dout_c1 four times too large
        return bool(np.abs(d_net).max() * 3 >= VISIBLE)
    right = _kernel_gradient(x, d_net, layer.stride[0], layer.padding[0])
    if shape == "strided":  # windows with stride 1, or the padding forgotten, in the backward pass: each must
        # give some kernel gradient that no other geometry (nor the flipped kernel) gives: the mistake is named
        others = {geo: _kernel_gradient(x, d_net, *geo) for geo in ((1, 1), (3, 1), (2, 0), (2, 2))}
        flipped = right[..., ::-1, ::-1]
        for classic in ((1, 1), (2, 0)):
            rivals = [right, flipped, *(g for geo, g in others.items() if geo != classic)]
            apart = np.min([np.abs(others[classic] - rival) for rival in rivals], axis=0)
            if apart.max() < VISIBLE:
                return False
        return True
    summed = np.broadcast_to(right.sum(axis=0), right.shape)  # channels: summed across output channels
    return bool(np.abs(right - summed).max() >= VISIBLE)


def generate_conv(seed: int = 0, shape: str = "basic", samples: int = 1, round_to: int | None = None,
                  reduction: str = "mean") -> ConvExercise:
    """A conv + pool (2x2, stride 1) + dense (2 sigmoid outputs) exercise of one of SHAPES (see the module
    docstring): `samples` images (1 to 4; the gradient the `reduction`, mean or sum, over them), the key exact or
    rounded by hand to `round_to` decimals (teach/check/rounded_layers.py)."""
    if shape not in SHAPES:
        raise StepgradError(f"expected one of {', '.join(SHAPES)}, got {shape!r}", where="--shape")
    if not 1 <= samples <= 4:
        raise StepgradError("between 1 and 4 samples", where="--samples")
    rng = random.Random(seed)
    for _ in range(TRIES):
        spec = _draw(rng, shape, samples, reduction)
        net = LayerNetwork.from_dict(spec, f"<exercise seed {seed}>")
        if not _fair(net, shape):
            continue
        if round_to is None:
            return ConvExercise(seed, spec, net, explain_layers(net), shape)
        try:  # rounded to very few decimals a max-pool window may tie: such numbers are drawn again
            return ConvExercise(seed, spec, net, rounded_layers(net, round_to), shape, round_to)
        except StepgradError:
            continue
    raise StepgradError(f"no fair exercise found for seed {seed} in {TRIES} draws; try another seed")


__all__ = ["SHAPES", "ConvExercise", "generate_conv"]
