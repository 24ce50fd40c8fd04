"""A student's hand calculation of a conv + pool + dense problem, written with explicit loops, with the classic
mistakes as switches: the solutions test_conv_students.py marks.

Independent of stepgrad's engine and trace: plain Python over nested lists, as a student works down the page.
The problem: an input of C_in channels, conv2d c1 (tanh) with stride and padding, optionally a residual block
(conv2d c2, 3x3, padding 1, tanh, added to out_c1), a max or average pool p1, flatten, dense d1 (sigmoid),
half squared error, one SGD step. Names are stepgrad's (1-based positions, the sample last when several).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

Map = list[list[list[float]]]  # [channel][row][column]


@dataclass
class Problem:
    """The numbers of one problem (see the module docstring)."""

    inputs: list[Map]  # one map per sample
    targets: list[list[float]]
    kernel: list  # [out][in][row][column]
    bias: list[float]
    stride: int
    padding: int
    pool: str  # "max" or "avg"
    pool_kernel: int
    pool_stride: int
    weights: list[list[float]]  # dense [unit][input]
    dense_bias: list[float]
    learning_rate: float
    residual_kernel: list | None = None  # c2's [out][in][3][3], zero bias
    activation: str = "tanh"  # c1's: tanh or relu

    def spec(self) -> dict:
        """The same problem as a stepgrad layer-table spec."""
        channels = len(self.inputs[0])
        layers: list[dict] = [{"type": "input", "shape": [channels, len(self.inputs[0][0]), len(self.inputs[0][0][0])]},
                              {"type": "conv2d", "out_channels": len(self.kernel), "kernel": len(self.kernel[0][0]),
                               "stride": self.stride, "padding": self.padding, "activation": self.activation,
                               "weights": self.kernel, "biases": self.bias}]
        if self.residual_kernel is not None:
            layers.append({"type": "residual", "layers": [{"type": "conv2d", "out_channels": len(self.kernel), "kernel": 3,
                                                           "padding": 1, "activation": "tanh", "bias": False,
                                                           "weights": self.residual_kernel}]})
        layers += [{"type": f"{self.pool}pool", "kernel": self.pool_kernel, "stride": self.pool_stride},
                   {"type": "flatten"},
                   {"type": "dense", "neurons": len(self.weights), "activation": "sigmoid", "weights": self.weights,
                    "biases": self.dense_bias}]
        return {"layers": layers, "learning_rate": self.learning_rate, "loss": "half_squared_error",
                "update_biases": True,
                "samples": [{"inputs": x, "targets": t} for x, t in zip(self.inputs, self.targets, strict=True)]}


@dataclass
class Slips:
    """Which mistakes the student makes (all off: correct work)."""

    flip: bool = False  # the kernel turned 180 degrees (forward), each entry's gradient taken where it was applied
    backward_stride: int | None = None  # dE_total/dk1 matched to the inputs with this stride
    backward_padding: int | None = None  # ... with this padding
    pool_route: str = "max"  # max | all | next | last (where a max-pool window's gradient goes)
    avg_unscaled: bool = False  # an average pool's gradient not divided by the window's size
    skip_forgotten: bool = False
    channels_summed: bool = False  # dE_total/dk1[o,i,p,q] from every output channel's errors
    batch_summed: bool = False  # the batch gradient summed over the samples instead of averaged
    flatten: str = "row"  # row (PyTorch's: channel, row, column) | columns (each channel column by column) | channels_last
    write_flatten: bool = False  # out_f1 and dE_total/dout_f1 written too
    round_to: int | None = None  # every value written rounded half up to this many decimals and carried on
    slip: dict[str, float] = field(default_factory=dict)  # an arithmetic slip: value added to a name's result


def _zeros(c: int, r: int, k: int) -> Map:
    return [[[0.0] * k for _ in range(r)] for _ in range(c)]


def _shape(m: Map) -> tuple[int, int, int]:
    return len(m), len(m[0]), len(m[0][0])


def _at(m: Map, ch: int, r: int, c: int) -> float:
    _, rows, cols = _shape(m)
    return m[ch][r][c] if 0 <= r < rows and 0 <= c < cols else 0.0


def _tag(name: str, position: tuple[int, ...], sample: int | None) -> str:
    text = f"{name}[{','.join(str(p + 1) for p in position)}]"
    return text if sample is None else f"{text}[{sample + 1}]"


def _d(name: str, position: tuple[int, ...], sample: int | None) -> str:
    inner = _tag(name, position, None)
    return f"dE_total/d{inner}" if sample is None else f"dE_total[{sample + 1}]/d{inner}[{sample + 1}]"


def _local(label: str, position: tuple[int, ...], sample: int | None) -> str:
    """dout/dnet of a layer at a position: dout_c1[1,2,2]/dnet_c1[1,2,2] (with the sample: ...[1]/...[1])."""
    return f"{_tag('dout_' + label, position, sample)}/{_tag('dnet_' + label, position, sample)}"


FLATTEN_ORDERS = {"row": lambda key: key, "columns": lambda key: (key[0], key[2], key[1]),
                  "channels_last": lambda key: (key[1], key[2], key[0])}


def conv(x: Map, kernel: list, bias: list[float] | None, stride: int, padding: int, flip: bool) -> Map:
    """net of a conv layer (cross-correlation; flip: the kernel turned 180 degrees)."""
    cin, rows, cols = _shape(x)
    k = len(kernel[0][0])
    out_rows, out_cols = (rows + 2 * padding - k) // stride + 1, (cols + 2 * padding - k) // stride + 1
    net = _zeros(len(kernel), out_rows, out_cols)
    for o in range(len(kernel)):
        for r in range(out_rows):
            for c in range(out_cols):
                total = bias[o] if bias else 0.0
                for i in range(cin):
                    for p in range(k):
                        for q in range(k):
                            w = kernel[o][i][k - 1 - p][k - 1 - q] if flip else kernel[o][i][p][q]
                            total += w * _at(x, i, r * stride + p - padding, c * stride + q - padding)
                net[o][r][c] = total
    return net


def conv_input_gradient(d_net: Map, kernel: list, in_shape: tuple[int, int, int], stride: int, padding: int) -> Map:
    """dE_total/d(input) of a conv layer: each window's error sent back through the weight that met the cell."""
    d_x = _zeros(*in_shape)
    k = len(kernel[0][0])
    for o, plane in enumerate(d_net):
        for r, row in enumerate(plane):
            for c, signal in enumerate(row):
                for i in range(in_shape[0]):
                    for p in range(k):
                        for q in range(k):
                            a, b = r * stride + p - padding, c * stride + q - padding
                            if 0 <= a < in_shape[1] and 0 <= b < in_shape[2]:
                                d_x[i][a][b] += signal * kernel[o][i][p][q]
    return d_x


def solve(problem: Problem, slips: Slips | None = None) -> dict[str, float]:
    """The student's sheet: name -> value, forward pass, backward pass and the update of the conv layer."""
    slips = slips or Slips()
    sheet: dict[str, float] = {}
    samples = len(problem.inputs)
    several = samples > 1

    def write(name: str, value: float) -> float:
        value += slips.slip.get(name, 0.0)
        if slips.round_to is not None:
            value = float(Decimal(f"{value:.15g}").quantize(Decimal(1).scaleb(-slips.round_to), ROUND_HALF_UP))
        sheet[name] = value
        return value

    kernel_grads: list = []
    bias_grads: list = []
    k = len(problem.kernel[0][0])
    for s, x in enumerate(problem.inputs):
        tag = s if several else None
        net1 = conv(x, problem.kernel, problem.bias, problem.stride, problem.padding, slips.flip)
        channels, rows, cols = _shape(net1)
        out1 = _zeros(channels, rows, cols)
        for o in range(channels):
            for r in range(rows):
                for c in range(cols):
                    net1[o][r][c] = write(_tag("net_c1", (o, r, c), tag), net1[o][r][c])
                    z = net1[o][r][c]
                    out1[o][r][c] = write(_tag("out_c1", (o, r, c), tag),
                                          math.tanh(z) if problem.activation == "tanh" else max(z, 0.0))
        pool_in = out1
        if problem.residual_kernel is not None:
            net2 = conv(out1, problem.residual_kernel, None, 1, 1, False)
            out2 = [[[write(_tag("out_c2", (o, r, c), tag), math.tanh(write(_tag("net_c2", (o, r, c), tag), v)))
                      for c, v in enumerate(row)] for r, row in enumerate(plane)] for o, plane in enumerate(net2)]
            pool_in = [[[write(_tag("out_r1", (o, r, c), tag), out1[o][r][c] + out2[o][r][c]) for c in range(cols)]
                        for r in range(rows)] for o in range(channels)]
        pk, ps = problem.pool_kernel, problem.pool_stride
        prows, pcols = (rows - pk) // ps + 1, (cols - pk) // ps + 1
        windows = {}
        flat = []
        for o in range(channels):
            for r in range(prows):
                for c in range(pcols):
                    cells = [(r * ps + p, c * ps + q) for p in range(pk) for q in range(pk)]
                    values = [pool_in[o][a][b] for a, b in cells]
                    windows[(o, r, c)] = (cells, values)
                    pooled = max(values) if problem.pool == "max" else sum(values) / len(values)
                    flat.append(write(_tag("out_p1", (o, r, c), tag), pooled))
        order = sorted(windows, key=FLATTEN_ORDERS[slips.flatten])  # the student's reading of the map
        by_window = dict(zip(windows, flat, strict=True))
        flat = [by_window[key] for key in order]
        if slips.write_flatten:
            flat = [write(_tag("out_f1", (u,), tag), v) for u, v in enumerate(flat)]
        outs = []
        for j, row in enumerate(problem.weights):
            net = write(_tag("net_d1", (j,), tag), sum(w * v for w, v in zip(row, flat, strict=True)) + problem.dense_bias[j])
            outs.append(write(_tag("out_d1", (j,), tag), 1 / (1 + math.exp(-net))))
        deltas = [write(_d("net_d1", (j,), tag), write(_d("out_d1", (j,), tag), o - t) * write(_local("d1", (j,), tag), o * (1 - o)))
                  for j, (o, t) in enumerate(zip(outs, problem.targets[s], strict=True))]
        d_flat = [sum(deltas[j] * problem.weights[j][u] for j in range(len(deltas))) for u in range(len(flat))]
        if slips.write_flatten:
            d_flat = [write(_d("out_f1", (u,), tag), v) for u, v in enumerate(d_flat)]
        d_window = dict(zip(order, d_flat, strict=True))
        d_pool_in = _zeros(channels, rows, cols)
        for (o, r, c), (cells, values) in windows.items():
            signal = write(_d("out_p1", (o, r, c), tag), d_window[(o, r, c)])
            if problem.pool == "avg":
                share = 1.0 if slips.avg_unscaled else 1.0 / len(cells)
                for a, b in cells:
                    d_pool_in[o][a][b] += signal * share
                continue
            top = max(values)
            first = values.index(top)
            chosen = {"max": [first], "all": range(len(cells)), "next": [first + 1] if first + 1 < len(cells) else [],
                      "last": [len(values) - 1 - values[::-1].index(top)]}[slips.pool_route]
            for kk in chosen:
                a, b = cells[kk]
                d_pool_in[o][a][b] += signal
        d_out1 = d_pool_in
        if problem.residual_kernel is not None:
            d_net2 = [[[write(_d("net_c2", (o, r, c), tag),
                              d_pool_in[o][r][c] * write(_local("c2", (o, r, c), tag), 1 - out2[o][r][c] ** 2))
                        for c in range(cols)] for r in range(rows)] for o in range(channels)]
            through = conv_input_gradient(d_net2, problem.residual_kernel, (channels, rows, cols), 1, 1)
            d_out1 = [[[through[o][r][c] + (0.0 if slips.skip_forgotten else d_pool_in[o][r][c]) for c in range(cols)]
                       for r in range(rows)] for o in range(channels)]
        d_net1 = _zeros(channels, rows, cols)
        for o in range(channels):
            for r in range(rows):
                for c in range(cols):
                    d = write(_d("out_c1", (o, r, c), tag), d_out1[o][r][c])
                    slope = write(_local("c1", (o, r, c), tag),
                                  1 - out1[o][r][c] ** 2 if problem.activation == "tanh" else float(out1[o][r][c] > 0))
                    d_net1[o][r][c] = write(_d("net_c1", (o, r, c), tag), d * slope)
        stride = problem.stride if slips.backward_stride is None else slips.backward_stride
        padding = problem.padding if slips.backward_padding is None else slips.backward_padding
        grads = [[[[0.0] * k for _ in range(k)] for _ in x] for _ in range(channels)]
        for o in range(channels):
            for i in range(len(x)):
                for p in range(k):
                    for q in range(k):
                        pp, qq = (k - 1 - p, k - 1 - q) if slips.flip else (p, q)  # where the student applied it
                        errors = range(channels) if slips.channels_summed else [o]
                        total = sum(d_net1[oo][r][c] * _at(x, i, r * stride + pp - padding, c * stride + qq - padding)
                                    for oo in errors for r in range(rows) for c in range(cols))
                        top = f"dE_total[{s + 1}]" if several else "dE_total"
                        grads[o][i][p][q] = write(f"{top}/dk1[{o + 1},{i + 1},{p + 1},{q + 1}]", total)
        kernel_grads.append(grads)
        bias_grads.append([write(f"dE_total[{s + 1}]/db_c1[{o + 1}]" if several else f"dE_total/db_c1[{o + 1}]",
                                 sum(d_net1[o][r][c] for r in range(rows) for c in range(cols))) for o in range(channels)])
    scale = 1.0 if slips.batch_summed or not several else 1.0 / samples
    for o, planes in enumerate(problem.kernel):
        for i, plane in enumerate(planes):
            for p in range(k):
                for q in range(k):
                    name = f"k1[{o + 1},{i + 1},{p + 1},{q + 1}]"
                    g = sum(kg[o][i][p][q] for kg in kernel_grads) * scale
                    if several:
                        g = write(f"dE_total/d{name}", g)
                    write(f"{name}+", plane[p][q] - problem.learning_rate * g)
        g = sum(bg[o] for bg in bias_grads) * scale
        if several:
            g = write(f"dE_total/db_c1[{o + 1}]", g)
        write(f"b_c1[{o + 1}]+", problem.bias[o] - problem.learning_rate * g)
    return sheet
