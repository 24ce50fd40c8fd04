"""The blocks of a sequence model's layers (rnn, attention, layernorm, batchnorm) in a layer-table explanation.

One time step (rnn), one query row (attention) or one group (normalization) derived in full, the deck's
name = formula = numbers = value; the rest as grids, time steps as columns. Each weight's gradient is
derived as the deck derives w5: its plan (one term per time step or position: the two factors and their
product, from the trace's paths), their sum, the update; the other entries in a table. `full`: every
step derived. Nothing here computes: every number is the trace's (formats/maps.py's blocks).
"""

from __future__ import annotations

from typing import Any

from stepgrad.core import names
from stepgrad.core.trace import Section, Step, Trace
from stepgrad.formats.formula import Precision
from stepgrad.formats.maps import ENTRIES, Block, Equations, Grid, Heading, Paragraph, Table, _Blocks, _positions

KINDS = ("rnn", "attention", "layernorm", "batchnorm")
WIDE_UNITS = 4  # more units (or components) than this: the first derived in full, the others in the grids
MASKED = "masked"


def _tagged(b: _Blocks, name: str, s: int) -> str:
    return names.at(name, b.tag(s))


def _signal(b: _Blocks, name: str, s: int) -> str:
    return b.signal_name(name, s)


def _cell(b: _Blocks, name: str) -> str:
    return b.value(name) if b.has(name) else ""


def _pick(b: _Blocks, section: Section, wanted: set[str]) -> list[Step]:
    return [st for st in section.steps if st.name in wanted]


def _samples(b: _Blocks) -> range:
    return range(b.samples) if b.full else range(1)


def _table_over_steps(b: _Blocks, title: str, rows: list[tuple[str, list[str]]], columns: list[str]) -> None:
    """A grid of named values: a row per (label, names), a column per time step or position."""
    if not any(b.has(n) for _, row in rows for n in row):
        return
    b.out.append(Grid(title, tuple(tuple(_cell(b, n) if b.has(n) else MASKED for n in row) for _, row in rows),
                      tuple(label for label, _ in rows), tuple(columns)))


def forward(b: _Blocks, layer: dict[str, Any]) -> None:
    """A sequence layer's forward pass: one step, row or group derived, the rest as grids."""
    section = b.trace.section(f"forward_{layer['label']}")
    b.out.append(Heading(section.title))
    b.out.append(Paragraph(section.intro))
    _rules(b, layer, forward=True)
    {"rnn": _rnn_forward, "attention": _attention_forward}.get(layer["kind"], _norm_forward)(b, layer, section)


def backward(b: _Blocks, layer: dict[str, Any]) -> None:
    """A sequence layer's backward pass and its parameters' gradients."""
    section = b.trace.section(f"backward_{layer['label']}")
    b.out.append(Heading(section.title))
    b.out.append(Paragraph(section.intro))
    _rules(b, layer, forward=False)
    {"rnn": _rnn_backward, "attention": _attention_backward}.get(layer["kind"], _norm_backward)(b, layer, section)
    for role, shape in layer["parameters"].items():
        gradients(b, layer, role, shape, section.steps)


def _rules(b: _Blocks, layer: dict[str, Any], forward: bool) -> None:
    """--derive: the layer's general rules before its numbers (formats/seq_rules.py)."""
    if b.derive_rules:
        from stepgrad.formats.seq_rules import written

        intro, lines = written(layer, b.meta, forward) or ("", [])
        b.out += [Paragraph(intro), Equations(tuple(t for t, _ in lines), tuple(x for _, x in lines), ("",) * len(lines))]


# -- rnn ----------------------------------------------------------------------------------------------
def _rnn_sizes(layer: dict[str, Any]) -> tuple[int, int]:
    return int(layer["in_shape"][0]), int(layer["parameters"]["weight_h"][0])


def _rnn_forward(b: _Blocks, layer: dict[str, Any], section: Section) -> None:
    label = layer["label"]
    steps, hidden = _rnn_sizes(layer)
    shown = min(2, steps)  # the first step whose previous state is not the initial one
    for s in range(b.samples):
        if s in _samples(b):
            units = _units(b, hidden)
            wanted = {_tagged(b, names.recurrent_value(k, label, t, j), s) for k in ("net", "h")
                      for t in (range(0, steps + 1) if b.full else (0, shown)) for j in units}
            if not b.full:
                which = "" if len(units) == hidden else " for unit 1"
                b.out.append(Paragraph(f"Step {shown} in full{which} (the others are computed the same way, with the "
                                       f"same weights; --all derives every one):"))
            b.derive(_pick(b, section, wanted))
            if b.matrix:
                _rnn_matrix(b, layer, shown, s)
        rows = [(f"net[{j}]", [_tagged(b, names.recurrent_value("net", label, t, j), s) if t else ""
                               for t in range(steps + 1)]) for j in range(1, hidden + 1)]
        rows += [(f"h[{j}]", [_tagged(b, names.recurrent_value("h", label, t, j), s) for t in range(steps + 1)])
                 for j in range(1, hidden + 1)]
        b.out.append(Grid(f"{label} through time{b._of(s)}: a column per step",
                          tuple(tuple(_cell(b, n) for n in row) for _, row in rows), tuple(r for r, _ in rows),
                          tuple(f"t={t}" for t in range(steps + 1))))


def _rnn_backward(b: _Blocks, layer: dict[str, Any], section: Section) -> None:
    label = layer["label"]
    steps, hidden = _rnn_sizes(layer)
    shown = range(1, steps + 1) if b.full else sorted({steps, max(1, steps - 1)}, reverse=True)
    for s in range(b.samples):
        if s in _samples(b):
            wanted = set()
            for t in shown:
                for j in _units(b, hidden):
                    h, net = names.recurrent_value("h", label, t, j), names.recurrent_value("net", label, t, j)
                    wanted |= {_signal(b, h, s), _signal(b, net, s), names.partial(_tagged(b, h, s), _tagged(b, net, s))}
                    wanted |= _entry_parts(b, layer, (h, net), s)  # truncated BPTT: each entry's part
            if not b.full and steps > 2:
                which = "" if len(_units(b, hidden)) == hidden else " for unit 1"
                b.out.append(Paragraph(f"Steps {steps} and {steps - 1} in full{which} (step {steps - 1} receives what "
                                       f"step {steps} sends back through Wh); the others likewise, in the grid:"))
            order = {name: k for k, name in enumerate(st.name for st in section.steps)}
            b.derive(sorted(_pick(b, section, wanted), key=lambda st: order[st.name]))
        rows = []
        cut = b.meta.get("truncated")
        signal = f"bptt{cut['window']} " if cut else "dE/d"  # truncated: the BPTT(k) sums, not derivatives
        for j in range(1, hidden + 1):
            rows.append((f"{signal}h[{j}]", [_signal(b, names.recurrent_value("h", label, t, j), s) for t in range(1, steps + 1)]))
        for j in range(1, hidden + 1):
            rows.append((f"dh/dnet[{j}]", [names.partial(_tagged(b, names.recurrent_value("h", label, t, j), s),
                                                         _tagged(b, names.recurrent_value("net", label, t, j), s))
                                           for t in range(1, steps + 1)]))
        for j in range(1, hidden + 1):
            rows.append((f"{signal}net[{j}]", [_signal(b, names.recurrent_value("net", label, t, j), s)
                                           for t in range(1, steps + 1)]))
        _table_over_steps(b, f"{label} backward through time{b._of(s)}: a column per step", rows,
                          [f"t={t}" for t in range(1, steps + 1)])


def _entry_parts(b: _Blocks, layer: dict[str, Any], quantities: tuple[str, ...], s: int) -> set[str]:
    """Truncated BPTT: the names of each entry's part of the sums at these quantities (bptt2e3_h1_t2[1])."""
    cut = b.meta.get("truncated")
    if not cut:
        return set()
    found = {names.truncated(q, cut["window"], b.tag(s), entry=e) for q in quantities
             for e in range(1, int(layer["in_shape"][0]) + 1)}
    return {name for name in found if b.has(name)}


def _rnn_matrix(b: _Blocks, layer: dict[str, Any], t: int, s: int) -> None:
    """Step t as one matrix product: [Wx | Wh | b] times the column [x[t]; h[t-1]; 1] gives net_h[t]."""
    label, stems = layer["label"], layer["parameter_names"]
    steps, hidden = _rnn_sizes(layer)
    features = int(layer["in_shape"][1])
    source = layer.get("input_names", {}).get(str(t))  # what the rnn reads at step t, without the sample
    columns = [f"{stems['weight_x']}[j,{i}]" for i in range(1, features + 1)]
    columns += [f"{stems['weight_h']}[j,{k}]" for k in range(1, hidden + 1)]
    bias = "bias" in layer["parameters"]
    rows = []
    for j in range(1, hidden + 1):
        row = [b.value(names.with_position(stems["weight_x"], (j, i))) for i in range(1, features + 1)]
        row += [b.value(names.with_position(stems["weight_h"], (j, k))) for k in range(1, hidden + 1)]
        rows.append(tuple(row + ([b.value(names.with_position(stems["bias"], (j,)))] if bias else [])))
    inputs = [names.at(n, b.tag(s)) for n in source or []]
    column = [b.value(n) for n in inputs]
    column += [b.value(_tagged(b, names.recurrent_value("h", label, t - 1, k), s)) for k in range(1, hidden + 1)]
    labels = list(inputs) + [_tagged(b, names.recurrent_value("h", label, t - 1, k), s) for k in range(1, hidden + 1)]
    b.out.append(Paragraph(f"Step {t} as one matrix product: the weights side by side, [{stems['weight_x']} | "
                           f"{stems['weight_h']}{' | ' + stems['bias'] if bias else ''}], times the column of step "
                           f"{t}'s inputs, the states of step {t - 1}{' and 1' if bias else ''}, gives net at step {t}."))
    b.out.append(Grid(f"[{stems['weight_x']} | {stems['weight_h']}{' | ' + stems['bias'] if bias else ''}]", tuple(rows),
                      tuple(str(j) for j in range(1, hidden + 1)), tuple(columns + (["1"] if bias else []))))
    b.out.append(Grid(f"the column at step {t}", tuple((v,) for v in column + (["1"] if bias else [])),
                      tuple(labels + (["1"] if bias else [])), ("",)))
    nets = tuple(b.value(_tagged(b, names.recurrent_value("net", label, t, j), s)) for j in range(1, hidden + 1))
    b.out.append(Grid(names.map_label("net", label) + f" at step {t}", (nets,), ("",),
                      tuple(str(j) for j in range(1, hidden + 1))))


_MATRICES = ("As matrices, a row per position: Q = X·Wq^T + bq, K = X·Wk^T + bk, V = X·Wv^T + bv; the scores "
             "S = Q·K^T{scale} (a row per query, a column per key{mask}); A = the softmax of each row of S; Z = A·V; "
             "out = Z·Wo^T + bo. The grids below are these matrices: q is Q, score is S, a is A, z is Z.")


def _units(b: _Blocks, count: int) -> range:
    """The units (or components) derived in full: all of a small layer, the first of a wide one (--all: all)."""
    return range(1, count + 1) if b.full or count <= WIDE_UNITS else range(1, 2)


# -- attention ----------------------------------------------------------------------------------------
def _attention_row(b: _Blocks, label: str, steps: int, s: int) -> int:
    """The query row derived in full: the last one, or row 2 under a causal mask (its masked key shows)."""
    causal = steps > 2 and not b.has(_tagged(b, names.attention_value("score", label, (1, steps)), s))
    return 2 if causal else steps


def _attention_grids(b: _Blocks, label: str, steps: int, sizes: dict[str, int], s: int, signal: bool) -> None:
    name = (lambda which, p: _signal(b, names.attention_value(which, label, p), s)) if signal else (
        lambda which, p: _tagged(b, names.attention_value(which, label, p), s))
    order = ("out", "z", "a", "score", "v", "q", "k") if signal else ("q", "k", "v", "score", "a", "z", "out")
    for which in order:
        if which in ("score", "a"):
            rows = [(f"query {i}", [name(which, (i, j)) for j in range(1, steps + 1)]) for i in range(1, steps + 1)]
            columns = [f"key {j}" for j in range(1, steps + 1)]
        else:
            rows = [(f"position {i}", [name(which, (i, c)) for c in range(1, sizes[which] + 1)]) for i in range(1, steps + 1)]
            columns = [str(c) for c in range(1, sizes[which] + 1)]
        title = names.map_label(which, label)
        _table_over_steps(b, (names.partial(names.TOTAL, title) if signal else title) + b._of(s), rows, columns)


def _attention_sizes(layer: dict[str, Any]) -> dict[str, int]:
    p = layer["parameters"]
    return {"q": p["weight_q"][0], "k": p["weight_k"][0], "v": p["weight_v"][0], "z": p["weight_v"][0],
            "out": p["weight_o"][0]}


def _attention_forward(b: _Blocks, layer: dict[str, Any], section: Section) -> None:
    label, steps, sizes = layer["label"], int(layer["in_shape"][0]), _attention_sizes(layer)
    for s in range(b.samples):
        if s in _samples(b):
            if b.full:
                wanted = {st.name for st in section.steps if names.parse(st.name).sample == b.tag(s)}
            else:
                row = _attention_row(b, label, steps, s)
                b.out.append(Paragraph(f"Position 1's q, k and v and query row {row} in full; the other positions "
                                       "are computed the same way (--all derives every one):"))
                wanted = {_tagged(b, names.attention_value(w, label, (1, c)), s) for w in ("q", "k", "v")
                          for c in _units(b, sizes[w])}
                wanted |= {_tagged(b, names.attention_value(w, label, (row, c)), s) for w in ("score", "a")
                           for c in range(1, steps + 1)}
                wanted |= {_tagged(b, names.attention_value(w, label, (row, c)), s) for w in ("z", "out")
                           for c in _units(b, sizes[w])}
            b.derive(_pick(b, section, wanted))
        if b.matrix and s == 0:
            scaled = "sqrt" in b.trace.step(_tagged(b, names.attention_value("score", label, (1, 1)), s)).text
            masked = not b.has(_tagged(b, names.attention_value("score", label, (1, steps)), s)) and steps > 1
            b.out.append(Paragraph(_MATRICES.format(scale=f" / sqrt({sizes['k']})" if scaled else "",
                                                    mask="; the entries above the diagonal masked" if masked else "")))
        _attention_grids(b, label, steps, sizes, s, signal=False)


def _attention_backward(b: _Blocks, layer: dict[str, Any], section: Section) -> None:
    label, steps, sizes = layer["label"], int(layer["in_shape"][0]), _attention_sizes(layer)
    for s in range(b.samples):
        if s in _samples(b):
            signals = [st for st in section.steps if st.kind != "gradient"]
            if b.full:
                chosen = [st for st in signals if names.parse(st.name).sample == b.tag(s)]
            else:
                row = _attention_row(b, label, steps, s)
                b.out.append(Paragraph(f"Query row {row} in full, back through the softmax; v and k at position 1 "
                                       "(they collect from every query that sees them):"))
                wanted = {_signal(b, names.attention_value(w, label, (row, c)), s)
                          for w in ("a", "score") for c in range(1, steps + 1)}
                wanted |= {_signal(b, names.attention_value(w, label, (row, c)), s)
                           for w in ("out", "z", "q") for c in _units(b, sizes[w])}
                wanted |= {_signal(b, names.attention_value(w, label, (1, c)), s) for w in ("v", "k")
                           for c in _units(b, sizes[w])}
                chosen = [st for st in signals if st.name in wanted]
            b.derive(chosen)
        _attention_grids(b, label, steps, sizes, s, signal=True)


# -- normalization --------------------------------------------------------------------------------------
def _groups(b: _Blocks, label: str, which: str = "mu") -> list[str]:
    """The names of every group's mean (or variance), in order, as the trace holds them."""
    found = []
    for st in b.trace:
        n = names.parse(st.name)
        if n.kind == "inner" and n.symbol == which and n.neuron == label and not n.after:
            found.append(st.name)
    return found


def _norm_forward(b: _Blocks, layer: dict[str, Any], section: Section) -> None:
    label, shape = layer["label"], layer["out_shape"]
    first = (1,) * len(shape)
    mus, variances = _groups(b, label, "mu"), _groups(b, label, "var")
    if b.full:
        b.derive([st for st in section.steps if st.kind != "given"])
    else:
        wanted = set(mus[:1] + variances[:1])
        wanted |= {names.norm_value("xhat", label, first, b.tag(0)), names.map_value("out", label, first, b.tag(0))}
        wanted |= {names.norm_value(w, label, (1,), after=True) for w in ("running_mean", "running_var")}
        b.out.append(Paragraph("The first group and its first value in full; the others are computed the same way "
                               "(--all derives every one):"))
        b.derive(_pick(b, section, wanted))
    if mus:
        b.out.append(Table(("mean", "value", "variance", "value"),
                           tuple((m, b.value(m), v, b.value(v)) for m, v in zip(mus, variances))))
    running = [st.name for st in section.steps if st.name.startswith("running_")]
    if running:
        b.out.append(Table(("running statistic", "value"), tuple((n, b.value(n)) for n in running)))
    sequence = bool(layer.get("sequence"))
    if b.matrix and len(shape) == 1:
        _norm_matrix(b, layer)
    for s in range(b.samples):
        for kind in ("xhat", "out"):
            at = (lambda p, s=s: names.norm_value("xhat", label, p, b.tag(s))) if kind == "xhat" else (
                lambda p, s=s: names.map_value("out", label, p, b.tag(s)))
            b.grids(names.map_label(kind, label) + b._of(s), shape, at, sequence=sequence)


def _norm_matrix(b: _Blocks, layer: dict[str, Any]) -> None:
    """The batch as matrices, a row per sample and a column per feature: X, then Xhat (read from the trace)."""
    label, features = layer["label"], int(layer["out_shape"][0])
    xhat = [[names.norm_value("xhat", label, (j,), b.tag(s)) for j in range(1, features + 1)] for s in range(b.samples)]
    inputs = [[b.trace.step(n).operands[0] for n in row] for row in xhat]
    batch = layer["kind"] == "batchnorm"
    b.out.append(Paragraph("As matrices, a row per sample and a column per feature: "
                           + ("mu and var are each column's mean and variance (over the batch)" if batch else
                              "mu and var are each row's mean and variance (over the sample's features)")
                           + "; Xhat = (X - mu) / sqrt(var + eps), and out = Xhat times gamma plus beta, column by column."))
    columns = tuple(str(j) for j in range(1, features + 1))
    rows = tuple(f"sample {s + 1}" for s in range(b.samples))
    b.out.append(Grid(f"X, the input of {label}", tuple(tuple(b.value(n) for n in row) for row in inputs), rows, columns))
    b.out.append(Grid(f"Xhat of {label}", tuple(tuple(b.value(n) for n in row) for row in xhat), rows, columns))


def _norm_backward(b: _Blocks, layer: dict[str, Any], section: Section) -> None:
    label, shape = layer["label"], layer["out_shape"]
    first = (1,) * len(shape)
    sequence = bool(layer.get("sequence"))
    signals = [st for st in section.steps if st.kind != "gradient"]
    if b.full:
        b.derive(signals)
    else:
        wanted = {_signal(b, names.map_value("out", label, first), 0), _signal(b, names.norm_value("xhat", label, first), 0),
                  _signal(b, names.map_value("input", names.INPUT_MAP, first), 0)}
        firsts: dict[str, str] = {}
        for st in signals:
            stat = _statistic(st)
            if stat is not None:
                firsts.setdefault(stat, st.name)
        b.derive([st for st in signals if st.name in wanted | set(firsts.values())])
    for s in range(b.samples):
        for kind in ("out", "xhat"):
            title = names.partial(names.TOTAL, names.map_label(kind, label)) + b._of(s)
            b.grids(title, shape, _norm_signal(b, label, kind, s), sequence=sequence)
    stats = [st for st in signals if _statistic(st) is not None]
    if stats:
        b.out.append(Table(("quantity", "value"), tuple((st.name, b.value(st.name)) for st in stats)))
    if layer.get("input"):
        b.out.append(Paragraph(f"The three paths add up in the layer below: dE_total/dout of {layer['input']} "
                               f"(its backward pass, next) is, at each position, the path through xhat plus the "
                               "variance's plus the mean's."))
    inputs = [st for st in signals if names.parse(st.name).bottom.kind == "input"]  # type: ignore[union-attr]
    if inputs:
        b.out.append(Table(("three paths into the input", "value"), tuple((st.name, b.value(st.name)) for st in inputs)))


def _norm_signal(b: _Blocks, label: str, kind: str, s: int) -> Any:
    """position -> dE_total/dout_n1[...] or dE_total/dxhat_n1[...] of sample s."""
    def at(p: tuple[int, ...]) -> str:
        return _signal(b, names.map_value("out", label, p) if kind == "out" else names.norm_value("xhat", label, p), s)
    return at


def _statistic(step: Step) -> str | None:
    """"mu" or "var" for dE_total/dmu_n1[...] or dE_total/dvar_n1[...]; None otherwise."""
    bottom = names.parse(step.name).bottom
    return bottom.symbol if bottom is not None and bottom.kind == "inner" and bottom.symbol in ("mu", "var") else None


# -- gradients ---------------------------------------------------------------------------------------------
def gradients(b: _Blocks, layer: dict[str, Any], role: str, shape: list[int], steps: tuple[Step, ...]) -> None:
    """One entry's gradient derived with its plan (one term per step or position), the update; the rest in a table."""
    base = layer["parameter_names"][role]
    entries = [names.with_position(base, p) for p in _positions(shape)]
    derived = entries if b.full else entries[:1]
    for entry in derived:
        about = [st for st in steps if st.kind == "gradient" and str(names.parse(st.name).bottom) == entry]
        planned = next((st for st in about if st.paths), None)
        note = planned.note if planned is not None and planned.note else ""
        b.out.append(Paragraph(f"The gradient of {entry}" + (f": {note}" if note else "") + "."))
        if planned is not None:
            rows = tuple((str(k + 1), f"{p.factors[0]} = {b.value(p.factors[0])}",
                          f"{p.factors[1]} = {b.value(p.factors[1])}" if len(p.factors) > 1 else "1",
                          _number(b, p.value)) for k, p in enumerate(planned.paths))
            b.out.append(Table(("term", "error signal", "times", "contribution"), rows))
        b.derive(about, notes=False)
        update = names.updated(entry)
        if b.has(update):
            b.derive([b.trace.step(update)])
    rest = [e for e in entries if e not in derived]
    if rest:
        rows = tuple((e, b.value(e), b.value(b.gradient_name(e)),
                      b.value(names.updated(e)) if b.has(names.updated(e)) else "(not updated)") for e in rest)
        b.out.append(Paragraph(f"The other entries of {base} ({len(rest)}), each derived the same way "
                               "(--all shows every one):"))
        b.out.append(Table(ENTRIES, rows))


def _number(b: _Blocks, value: float) -> str:
    from stepgrad.formats.formula import number

    return number(value, b.digits)


_NAMING = {
    "sequence": "A sequence's values are x[t,f]: feature f at time step t (a layer's out on a sequence likewise, "
                "out_d1[t,j]).",
    "rnn": "An rnn's state is {label}_t2[j] (unit j at step 2; {label}_t0 is the initial state) and net_{label}_t2[j] "
           "its value before the activation; {wx}[j,i] weighs input i, {wh}[j,k] unit k of the step before.",
    "attention": "An attention head's q_{label}[i,c], k_{label}[j,c], v_{label}[j,c] belong to position i or j; "
                 "score_{label}[i,j] and a_{label}[i,j] to query i and key j; z_{label}[i,c] is the weighted sum of "
                 "the values at position i and out_{label}[i,o] its projection.",
    "layernorm": "Normalization {label}: xhat_{label} at each value's position, mu_{label}[g] and var_{label}[g] of "
                 "group g (layernorm: one group per sample, or per step of a sequence, with the sample last).",
    "batchnorm": "Normalization {label}: xhat_{label} at each value's position, mu_{label}[j] and var_{label}[j] of "
                 "feature j over the batch (one value for the whole batch).",
}


class _SequenceBlocks(_Blocks):
    """formats/maps.py's blocks, with the sequence layers' own."""

    def conventions(self) -> None:
        super().conventions()
        if self.meta.get("sequence_input"):
            self.out.append(Paragraph(_NAMING["sequence"]))
        for layer in self.meta["layers"]:
            if layer["kind"] in KINDS:
                stems = layer["parameter_names"]
                self.out.append(Paragraph(_NAMING[layer["kind"]].format(
                    label=layer["label"], wx=stems.get("weight_x", ""), wh=stems.get("weight_h", ""))))

    def rules(self, layer: dict[str, Any], forward: bool) -> None:
        if layer["kind"] == "dense":  # on a sequence, or reading an rnn's state: formats/seq_rules.py's
            _rules(self, layer, forward)
        else:
            super().rules(layer, forward)

    def forward(self, layer: dict[str, Any]) -> None:
        if layer["kind"] in KINDS:
            forward(self, layer)
        else:
            super().forward(layer)

    def backward(self, layer: dict[str, Any]) -> None:
        if layer["kind"] in KINDS:
            backward(self, layer)
        else:
            super().backward(layer)


def blocks(trace: Trace, digits: Precision = 9, full: bool = False, matrix: bool = False,
           derive: bool = False) -> list[Block]:
    """The explanation of a layer-table trace as blocks (formats/maps.py's), sequence layers included
    (`derive`: the conv/pool/residual layers' rules first, formats/maps_rules.py)."""
    return _SequenceBlocks(trace, digits, full, matrix, derive).build()
