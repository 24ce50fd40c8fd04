r"""The picture of a sequence model on the lecture's third frame (formats/maps_seq_slides.py): TikZ, unrolled.

Time steps are columns, layers are rows from the input at the bottom to the error at the top. A layer whose
output is a sequence has a box per step (an rnn's state h1_t<t>, with its initial state h1_t0 in a column of
its own and Wh on the arrows from step to step; a dense layer or a layernorm applied at every step); an
attention head has a box per position and an arrow from every position it reads (the keys up to the query
under a causal mask); a layer that sees one vector (after an rnn's last state, or in a network without a
sequence) is one box above the last step. More than MAX_STEPS steps: the first ones, a column of dots and the
last. A network without a sequence (and several samples) has its samples as columns instead: a batchnorm
in training mode reads every sample's column (its statistics mix them). The picture holds names only (no
numbers), from the trace's description of its layers.
"""

from __future__ import annotations

from typing import Any

from stepgrad.core import names
from stepgrad.formats import latex as tex

MAX_STEPS = 5  # steps drawn as columns; more: the first MAX_STEPS - 2, a column of dots, the last
COLUMN = 1.9  # cm between two steps
ROW = 1.0  # cm between two layers (the picture is squeezed to fit a frame when there are many)
WORDS = {"rnn": "rnn", "attention": "attention", "layernorm": "layernorm", "batchnorm": "batchnorm",
         "dense": "dense", "conv1d": "conv1d", "conv2d": "conv2d", "maxpool": "max pool", "avgpool": "avg pool",
         "flatten": "flatten"}


def _steps(count: int) -> list[int | None]:
    """The steps drawn as columns (None: the column of dots)."""
    if count <= MAX_STEPS:
        return list(range(1, count + 1))
    return [*range(1, MAX_STEPS - 1), None, count]


def _box(name: str, x: float, y: float, label: str, fill: str) -> str:
    """A named box of the picture at (x, y)."""
    return (f"\\node[draw, rounded corners=1pt, fill={fill}, minimum height=0.5cm, inner sep=2pt] ({name}) at "
            f"({x:.2f},{y:.2f}) {{{tex.escape(label)}}};")


def _row_label(layer: dict[str, Any] | None, meta: dict[str, Any]) -> str:
    """What a row of the picture is: the input's size, or a layer's label, kind and activation."""
    if layer is None:
        shape = meta["input_shape"]
        size = f"{shape[0]} steps of {shape[1]}" if meta.get("sequence_input") else " x ".join(map(str, shape))
        return f"input x: {size}"
    words = WORDS.get(layer["kind"], layer["kind"])
    if layer["kind"] in ("dense", "rnn") and ", " in layer["description"]:  # its activation
        words += ", " + layer["description"].split(", ")[1 if layer["kind"] == "rnn" else -1].replace("_", " ")
    return f"{layer['label']}: {words}"


def _batch_picture(meta: dict[str, Any]) -> str:
    """A network without a sequence, its samples as columns: each sample's values go up their own column,
    except through a batchnorm in training mode, whose statistics mix every sample of the batch."""
    columns = _steps(int(meta["samples"]))
    xs = {s: COLUMN * k for k, s in enumerate(columns)}
    dy = min(ROW, 5.2 / max(len(meta["layers"]) + 1, 1))
    out = [r"\begin{tikzpicture}[>=stealth, every node/.style={font=\footnotesize}]"]
    out.append(f"\\node[anchor=east] at (-0.85,0) {{{tex.escape(_row_label(None, meta))}}};")
    below: dict[int, str] = {}
    for s in columns:
        if s is None:
            out.append(f"\\node at ({xs[s]:.2f},0) {{\\dots}};")
            continue
        out.append(f"\\node[below] at ({xs[s]:.2f},-0.3) {{sample {s}}};")
        out.append(_box(f"x{s}", xs[s], 0.0, "x", "green!10"))
        below[s] = f"x{s}"
    for r, layer in enumerate(meta["layers"], start=1):
        y = r * dy
        out.append(f"\\node[anchor=east] at (-0.85,{y:.2f}) {{{tex.escape(_row_label(layer, meta))}}};")
        mixing = layer["kind"] == "batchnorm" and bool(meta.get("mixing"))
        drawn: dict[int, str] = {}
        for s in columns:
            if s is None:
                out.append(f"\\node at ({xs[s]:.2f},{y:.2f}) {{\\dots}};")
                continue
            node = f"L{r}s{s}"
            out.append(_box(node, xs[s], y, names.map_label("out", layer["label"]),
                            "orange!15" if layer["kind"] in ("layernorm", "batchnorm") else "blue!8"))
            drawn[s] = node
        for s, node in drawn.items():
            for source in (below.values() if mixing else [below[s]]):
                out.append(f"\\draw[->{', gray' if mixing and source != below[s] else ''}] ({source}.north) -- "
                           f"({node}.south);")
        below = drawn
    y = (len(meta["layers"]) + 1) * dy
    batch = "mean" if meta["reduction"] == "mean" else "sum"
    out.append(f"\\node[draw, fill=red!8, inner sep=2pt] (E) at ({xs[columns[-1]] / 2:.2f},{y:.2f}) "
               f"{{{tex.escape(f'E_total: the {batch} over the samples of their errors')}}};")
    out += [f"\\draw[->] ({node}) -- (E);" for node in below.values()]
    out.append(r"\end{tikzpicture}")
    return "\n".join(out)


def picture(meta: dict[str, Any]) -> str:
    """The network unrolled over its time steps (or, without a sequence, its samples side by side), as a
    tikzpicture (names only)."""
    sequence = bool(meta.get("sequence_input"))
    if not sequence and int(meta["samples"]) > 1:
        return _batch_picture(meta)
    count = int(meta["input_shape"][0]) if sequence else 1
    steps = _steps(count)
    recurrent = any(layer["kind"] == "rnn" for layer in meta["layers"])
    first = COLUMN if recurrent else 0.0  # column 0: an rnn's initial state
    xs = {t: first + COLUMN * k for k, t in enumerate(steps)}
    last_x = xs[steps[-1]]
    rows = len(meta["layers"]) + 2
    dy = min(ROW, 5.2 / max(rows - 1, 1))
    out = [r"\begin{tikzpicture}[>=stealth, every node/.style={font=\footnotesize}]"]
    # the input row
    boxes: dict[int | None, str] = {}  # step -> node of the row below (None key: one vector)
    y = 0.0
    out.append(f"\\node[anchor=east] at (-0.85,{y:.2f}) {{{tex.escape(_row_label(None, meta))}}};")
    if sequence:
        for t in steps:
            if t is None:
                out.append(f"\\node at ({xs[t]:.2f},{y:.2f}) {{\\dots}};")
                continue
            out.append(_box(f"x{t}", xs[t], y, f"x[{t}]", "green!10"))
            boxes[t] = f"x{t}"
    else:
        out.append(_box("x", last_x, y, "x", "green!10"))
        boxes = {None: "x"}
    for r, layer in enumerate(meta["layers"], start=1):
        y = r * dy
        label, kind = layer["label"], layer["kind"]
        out.append(f"\\node[anchor=east] at (-0.85,{y:.2f}) {{{tex.escape(_row_label(layer, meta))}}};")
        per_step = kind in ("rnn", "attention") or (bool(layer.get("sequence")) and None not in boxes)
        if not per_step:  # one vector: one box above the last step
            node = f"L{r}"
            out.append(_box(node, last_x, y, names.map_label("out", label), "blue!8"))
            below = boxes.get(None) or boxes[count]
            out.append(f"\\draw[->] ({below}) -- ({node});")
            boxes = {None: node}
            continue
        drawn: dict[int | None, str] = {}
        if kind == "rnn":
            out.append(_box(f"L{r}s0", 0.0, y, names.recurrent_label("h", label, 0), "orange!15"))
            drawn[0] = f"L{r}s0"
        for t in steps:
            if t is None:
                out.append(f"\\node at ({xs[t]:.2f},{y:.2f}) {{\\dots}};")
                continue
            node = f"L{r}s{t}"
            text = (names.recurrent_label("h", label, t) if kind == "rnn" else
                    f"{names.map_label('out', label)}[{t}]")
            out.append(_box(node, xs[t], y, text, "orange!15" if kind in ("rnn", "attention") else "blue!8"))
            drawn[t] = node
        for k, t in enumerate(steps):
            if t is None:
                continue
            node = drawn[t]
            if kind == "attention":
                keys = [j for j in steps if j is not None and (j <= t or "no mask" in layer["description"])]
                for j in keys:
                    out.append(f"\\draw[->, gray] ({boxes[j]}.north) -- ({node}.south);")
            else:
                edge = f" node[midway, right, inner sep=1pt] {{{_weight(layer, 'weight_x')}}}" if (
                    kind == "rnn" and k == 0) else ""
                out.append(f"\\draw[->] ({boxes[t]}) -- ({node}){edge};")
            if kind == "rnn":
                before = drawn.get(steps[k - 1]) if k and steps[k - 1] is not None else drawn[0] if k == 0 else None
                if before is None:  # after the dots: from the step before, not drawn
                    out.append(f"\\draw[->, red!60!black, dashed] ({xs[None]:.2f},{y:.2f}) -- ({node});")
                else:
                    out.append(f"\\draw[->, red!60!black, thick] ({before}) -- ({node}) node[midway, above] "
                               f"{{{_weight(layer, 'weight_h')}}};")
        if kind == "rnn" and None in steps:
            out.append(f"\\draw[->, red!60!black, dashed] ({drawn[steps[-3]]}) -- ({xs[None]:.2f},{y:.2f});")
        if bool(layer.get("sequence")):
            boxes = {t: n for t, n in drawn.items() if t}
        else:
            boxes = {None: drawn[count]}
    y = (len(meta["layers"]) + 1) * dy
    reduction = meta.get("step_reduction")
    said = (f"E_total: the {reduction} over the steps of each step's error" if reduction and None not in boxes
            else "E_total: one error" + (" at the last step" if sequence else ""))
    out.append(f"\\node[draw, fill=red!8, inner sep=2pt, anchor=east] (E) at ({last_x + 0.7:.2f},{y:.2f}) "
               f"{{{tex.escape(said)}}};")
    for node in boxes.values():
        out.append(f"\\draw[->] ({node}) -- (E);")
    out.append(r"\end{tikzpicture}")
    return "\n".join(out)


def _weight(layer: dict[str, Any], role: str) -> str:
    """A parameter's name, for an arrow."""
    return tex.escape(layer["parameter_names"][role])
