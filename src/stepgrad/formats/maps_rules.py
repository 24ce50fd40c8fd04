"""The rules a layer-table explanation derives from (`explain --derive`): each layer's general formula, before its numbers.

For a conv layer the sliding sum and the sum over positions that gives a kernel weight's gradient
(with the layer's own stride, padding and kernel size, and the flipped kernel of a true convolution);
a max-pool's route, an average pool's 1/(window size), flatten's reading order, the skip path's 1 in a
residual block, a dense layer's chain rule. The rules hold no numbers: the numbers that follow are the
trace's.
"""

from __future__ import annotations

import re
from typing import Any

from stepgrad.core import names


def _settings(layer: dict[str, Any]) -> tuple[list[int], list[int], list[int]]:
    """(kernel, stride, padding) per axis (rows, columns), from the layer's description ("kernel 2x2, stride
    1x1, padding 0x0"; a 1-d layer's one number stands for its columns, with 1 row)."""
    text = layer["description"]

    def numbers(key: str, default: int) -> list[int]:
        found = re.search(rf"{key} ([\dx]+)", text)
        values = [int(n) for n in found.group(1).split("x")] if found else [default, default]
        return values if len(values) == 2 else [1 if key != "padding" else 0, values[0]]

    return numbers("kernel", 1), numbers("stride", 1), numbers("padding", 0)


Rules = tuple[str, list[tuple[str, str]]]  # (the intro, [(text, LaTeX) of each rule])


def _rules(lines: list[tuple[str, str]], intro: str) -> Rules:
    return intro, lines


def _kernel_tex(base: str) -> str:
    return rf"k_{{{base[1:]}}}"


def _at(axis: str, offset: str, stride: int, padding: int) -> str:
    """The input index a window at output index `axis` meets with kernel offset `offset` (1-based)."""
    start = f"{axis}+{offset}-1" if stride == 1 else f"{stride}({axis}-1)+{offset}"
    return start + (f"-{padding}" if padding else "")


def forward_rules(layer: dict[str, Any], convolution: str) -> Rules | None:
    """The rule of a layer's forward pass (conv and average pool: the sum; the others' formulas say it)."""
    label, kind = layer["label"], layer["kind"]
    if kind == "conv2d":
        (kr, kc), (sr, sc), (pr, pc) = _settings(layer)
        base = layer["parameter_names"]["kernel"]
        k = (f"{base}[o,i,{kr + 1}-p,{kc + 1}-q]" if convolution == "convolution" else f"{base}[o,i,p,q]")
        k_tex = k.replace(base, _kernel_tex(base))
        row, col = _at("r", "p", sr, pr), _at("c", "q", sc, pc)
        source, net_name = _source(layer), names.map_label("net", label)
        bias = f" + {layer['parameter_names']['bias']}[o]" if "bias" in layer["parameters"] else ""
        text = f"{net_name}[o,r,c] = sum over i, p, q of {k} * {source}[i, {row}, {col}]{bias}"
        latex = (rf"\mathrm{{net}}_{{{label}}}[o,r,c] = \sum_{{i}}\sum_{{p=1}}^{{{kr}}}\sum_{{q=1}}^{{{kc}}} "
                 rf"{k_tex} \cdot {_tex_map(source)}[i, {row}, {col}]" + (rf" + b_{{{label}}}[o]" if bias else ""))
        flip = (" The kernel is turned by 180 degrees (true convolution): entry (p, q) is read at "
                f"({kr + 1}-p, {kc + 1}-q)." if convolution == "convolution" else "")
        return _rules([(text, latex)], f"The rule (cross-correlation with stride {sr}x{sc} and padding {pr}x{pc}; "
                                       f"cells on the padding are 0).{flip}")
    if kind == "avgpool":
        (kr, kc), _, _ = _settings(layer)
        out_name = names.map_label("out", label)
        return _rules([(f"{out_name}[ch,r,c] = (sum of the window's {kr * kc} cells) / {kr * kc}",
                        rf"\mathrm{{out}}_{{{label}}}[ch,r,c] = \frac{{1}}{{{kr * kc}}}"
                        rf"\sum_{{\text{{cells of the window}}}} \mathrm{{in}}")], "The rule: the window's mean.")
    return None


def backward_rules(layer: dict[str, Any], convolution: str) -> Rules | None:
    """The rules of a layer's backward pass: where its gradient goes and how a parameter's is summed."""
    label, kind = layer["label"], layer["kind"]
    source, net_name, out_name = _source(layer), names.map_label("net", label), names.map_label("out", label)
    d_source, d_out = names.partial(names.TOTAL, source), names.partial(names.TOTAL, out_name)
    signal = names.partial(names.TOTAL, net_name)
    signal_tex = rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial \mathrm{{net}}_{{{label}}}}}"
    if kind == "conv2d":
        (kr, kc), (sr, sc), (pr, pc) = _settings(layer)
        base = layer["parameter_names"]["kernel"]
        row, col = _at("r", "p", sr, pr), _at("c", "q", sc, pc)
        d_kernel = names.partial(names.TOTAL, base)
        lines = [(f"{d_kernel}[o,i,p,q] = sum over the positions (r,c) of {signal}[o,r,c] * {source}[i, {row}, {col}]",
                  rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial {_kernel_tex(base)}[o,i,p,q]}}"
                  rf" = \sum_{{r,c}} {signal_tex}[o,r,c] \cdot {_tex_map(source)}[i, {row}, {col}]")]
        if "bias" in layer["parameters"]:
            d_bias = names.partial(names.TOTAL, layer["parameter_names"]["bias"])
            lines.append((f"{d_bias}[o] = sum over the positions (r,c) of {signal}[o,r,c]",
                          rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial b_{{{label}}}[o]}} = \sum_{{r,c}} "
                          rf"{signal_tex}[o,r,c]"))
        lines.append((f"{d_source}[i,u,v] = sum over the o, r, c whose window covers (u,v) of "
                      f"{signal}[o,r,c] * the kernel entry that met it",
                      rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial {_tex_map(source)}[i,u,v]}} = "
                      rf"\sum_{{o,\,(r,c)\ \text{{covering}}\ (u,v)}} {signal_tex}[o,r,c] \cdot k[o,i,p,q]"))
        flip = " (a true convolution reads the kernel turned by 180 degrees here too)" if convolution == "convolution" else ""
        return _rules(lines, "The rules: a kernel weight touches every output position of its channel, so its gradient "
                             f"is the sum over those positions of the error signal times the input it met{flip}; a "
                             "position whose cell is on the padding adds 0.")
    if kind == "maxpool":
        ties = "shared equally among tied cells" if "split" in layer["description"] else \
            "the first largest cell in reading order"
        return _rules([(f"{d_source}[ch,u,v] = sum over the windows w holding (u,v) of "
                        f"({d_out}[ch,w] if (u,v) is w's maximum, else 0)",
                        rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial {_tex_map(source)}[ch,u,v]}} = "
                        rf"\sum_{{w \ni (u,v)}} [\,(u,v) = \arg\max w\,] \cdot "
                        rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial \mathrm{{out}}_{{{label}}}[ch,w]}}")],
                      f"The rule (the max-pool route): a window's gradient goes whole to the cell that won it ({ties}); "
                      "the others get 0.")
    if kind == "avgpool":
        (kr, kc), _, _ = _settings(layer)
        return _rules([(f"{d_source}[ch,u,v] = sum over the windows w holding (u,v) of "
                        f"{d_out}[ch,w] / {kr * kc}",
                        rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial {_tex_map(source)}[ch,u,v]}} = "
                        rf"\sum_{{w \ni (u,v)}} \frac{{1}}{{{kr * kc}}} "
                        rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial \mathrm{{out}}_{{{label}}}[ch,w]}}")],
                      f"The rule (average pool): every cell of a window gets 1/{kr * kc} (1 over the window's "
                      f"{kr}x{kc} cells) of its gradient.")
    if kind == "residual":
        return _rules([(f"{d_source} = {signal} * 1 + (the terms through the block)",
                        rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial {_tex_map(source)}}} = "
                        rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial \mathrm{{net}}_{{{label}}}}} \cdot 1"
                        rf" + \text{{(through the block)}}")],
                      f"The rule (the skip path): {net_name} = {source} + the block's output, so "
                      f"{names.partial(net_name, source)} = 1 along the skip path; the two paths' gradients add up.")
    if kind == "flatten":
        return _rules([(f"{d_source}[ch,r,c] = {d_out}[the same value's index]",
                        rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial {_tex_map(source)}[ch,r,c]}} = "
                        rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial \mathrm{{out}}_{{{label}}}[j]}}")],
                      "The rule: flatten moves values, it does not change them: each gradient goes back to its cell "
                      "(channel after channel, row by row).")
    if kind == "dense":
        weight = names.partial(names.TOTAL, layer["parameter_names"]["weight"])
        return _rules([(f"{weight}[j,i] = {signal}[j] * {source}[i]",
                        rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial w_{{{label}}}[j,i]}} = "
                        rf"{signal_tex}[j] \cdot {_tex_map(source)}[i]")], "The rule: the chain rule, as for the deck's w5.")
    return None


def _source(layer: dict[str, Any]) -> str:
    """The name of the map a layer reads: x, or the out of the layer before."""
    return names.INPUT_MAP if layer["input"] is None else names.map_label("out", layer["input"])


def _tex_map(name: str) -> str:
    if name == "x":
        return "x"
    kind, _, label = name.partition("_")
    return rf"\mathrm{{{kind}}}_{{{label}}}"
