r"""A Beamer lecture of one training step of a sequence model (rnn, attention, layernorm, batchnorm layers).

The conv lecture's packing into frames (formats/maps_frames.py, heights of formats/maps_layout.py) with a
sequence model's own frames: the conventions that decide right and wrong (the scale, the softmax's axis, the
mask, the variance estimator, the mode, where the loss is taken, BPTT), the network unrolled over its time steps
(formats/maps_seq_picture.py), every grid with the time steps as columns (attention's scores and weights: a row
per query, a column per key), and three derivations the way the deck derives w5: backpropagation through time
for an rnn's first Wh entry (its plan, one term per time step, each step's contribution with its numbers, their
sum, the update), the gradient through the softmax for one query row (the rule once, the row's numbers, one
score derived; the other rows in the grid), and a normalization's three paths into its input (through xhat, the
variance and the mean). One step, row or group is derived in full and the rest tabulated (--all: every one).
Nothing here computes: every number is the trace's.

    stepgrad explain rnn.toml --format slides -o rnn.tex && pdflatex rnn.tex && pdflatex rnn.tex
"""

from __future__ import annotations

import dataclasses
from typing import Any

from stepgrad.core import names
from stepgrad.core.trace import Step, Trace
from stepgrad.formats import latex as tex
from stepgrad.formats.formula import Precision, equation, number, operand, substituted, symbol, symbolic
from stepgrad.formats.maps import ENTRIES, Block, Equations, Grid, Heading, Paragraph, Table
from stepgrad.formats.maps_frames import DISPLAY_SKIPS, Part, frame
from stepgrad.formats.maps_layout import escape, fit, paragraph
from stepgrad.formats.maps_seq import KINDS
from stepgrad.formats.maps_seq_layout import (
    align,
    breakable,
    cut_out,
    glued,
    grid_items,
    split_at,
    time_columns,
    top_level,
    turned,
    upright,
    wrap_row,
)
from stepgrad.formats.maps_seq_layout import equations as _equation_items
from stepgrad.formats.maps_seq_layout import frames as _frames
from stepgrad.formats.maps_seq_picture import picture
from stepgrad.formats.maps_slides import _Lecture
from stepgrad.formats.maps_summary import SUMMARY_FRAMES, SUMMARY_PARAMETERS, summarised
from stepgrad.formats.slides import PREAMBLE

DERIVED = {"rnn": ("weight_x", "weight_h"), "attention": ("weight_q",), "layernorm": ("gamma",),
           "batchnorm": ("gamma",), "dense": ("weight",)}  # a summary derives these parameters' first entries
DERIVED_WORDS = {"rnn": "Wx and Wh", "attention": "Wq", "layernorm": "gamma", "batchnorm": "gamma",
                 "dense": "a dense layer's weights"}
FULL_STEPS = 4  # an rnn of at most this many steps has every step's contribution derived; more: the last one
TITLES = {"rnn": "a recurrent network", "attention": "an attention head", "layernorm": "a network with layer norm",
          "batchnorm": "a network with batch norm"}


def sequence_model(trace: Trace) -> bool:
    """Whether a layer-table trace is a sequence model's (a sequence input or an rnn, attention or norm layer)."""
    return bool(trace.meta.get("sequence_input")) or any(layer["kind"] in KINDS for layer in trace.meta["layers"])


class _SequenceLecture(_Lecture):
    """The lecture of a sequence model: the conv lecture's packing of blocks into frames, with its own frames."""

    def title(self) -> str:
        """The lecture's title, by its first sequence layer."""
        kinds = [layer["kind"] for layer in self.meta["layers"] if layer["kind"] in KINDS]
        return "One training step of " + (TITLES[kinds[0]] if kinds else "a sequence model")

    # -- the opening frames ---------------------------------------------------------------------------
    def conventionsframe(self) -> list[str]:
        """The conventions that decide right and wrong, each layer's from its description, and the loss's."""
        items = []
        for layer in self.meta["layers"]:
            head, _, rest = layer["description"].partition(": ")
            said = top_level(rest, ", ")
            if layer["kind"] in KINDS:
                items.append(f"\\item \\textbf{{{escape(head)}}}: " + "; ".join(escape(s) for s in said))
        m = self.meta
        last = m["layers"][-1]
        if m.get("step_reduction"):
            where = (f"at every step; each sample's error is the {m['step_reduction']} over the steps of the "
                     "errors at each step")
        elif m.get("sequence_input"):
            where = "at the end only: the layers after the sequence see its last step"
        else:
            where = f"on the output of {last['label']}"
        batch = "their mean" if m["reduction"] == "mean" else "their sum"
        items.append(f"\\item \\textbf{{loss}}: {escape(m['loss'].replace('_', ' '))}, {escape(where)}")
        items.append(f"\\item \\textbf{{batch}}: {self.samples} sample{'s' if self.samples > 1 else ''} (E\\_total "
                     f"and the gradients are {batch}); learning rate $\\eta = {number(m['learning_rate'], self.digits)}$;"
                     f" biases {'updated' if m['update_biases'] else 'not updated'}")
        if m.get("mixing"):
            items.append("\\item \\textbf{batch norm in training mode mixes the samples}: every derivative is the "
                         "batch error's, the parameters have only the batch's gradient")
        body = "\\begin{itemize}\\setlength{\\itemsep}{2pt}\n" + "\n".join(items) + "\n\\end{itemize}"
        return [frame("The conventions of this step", body)]

    def pictureframe(self) -> str:
        """The network unrolled over its time steps (or its samples side by side: formats/maps_seq_picture.py),
        with a legend."""
        kinds = {layer["kind"] for layer in self.meta["layers"]}
        if self.meta.get("sequence_input") or self.samples == 1:
            title = "The network, unrolled over time" if self.meta.get("sequence_input") else "The network"
            legend = (("Time steps are columns, l" if self.meta.get("sequence_input") else "L")
                      + "ayers rows from the input up to the error; an arrow: what a box reads"
                      + ("; Wh carries the state from step to step" if "rnn" in kinds else "")
                      + ("; an attention box reads every position it may see" if "attention" in kinds else "") + ".")
        else:
            title = "The network, sample by sample"
            legend = ("Samples are columns, layers rows from the input up to the error; an arrow: what a box reads"
                      + ("; batch norm in training mode reads every sample (its mean and variance are the batch's)"
                         if self.meta.get("mixing") else "") + ".")
        return frame(title, "\\begin{center}\n" + fit(picture(self.meta)) + "\n\\end{center}\n"
                      f"{{\\footnotesize {escape(legend)}}}")

    # -- backpropagation through time ------------------------------------------------------------------
    def bptt_frames(self, layer: dict[str, Any]) -> list[str]:
        """Wh's first entry as the deck derives w5: the plan (one term per time step, as a grid with the steps as
        columns), each step's contribution with its numbers, their sum, the update."""
        entry = names.with_position(layer["parameter_names"]["weight_h"], (1, 1))
        gradient = names.gradient(entry)
        if not self.has(gradient):
            return []
        batch = self.trace.step(gradient)
        planned = next((st for st in self.trace.section(f"backward_{layer['label']}").steps
                        if st.kind == "gradient" and st.paths and str(names.parse(st.name).bottom) == entry), None)
        if planned is None:
            return []
        steps = len(planned.paths)
        whose = f" (sample 1's; the batch's is {'the mean' if self.meta['reduction'] == 'mean' else 'the sum'} " \
                "of the samples')" if self.samples > 1 else ""
        plan = (f"{entry} weighs unit 1's state at step t-1 in unit 1's net at step t, at every one of the "
                f"{steps} steps: the same weight, {steps} uses. So its gradient{whose} is a sum with one term per "
                "time step: the error signal of net at step t times what the weight multiplied there, h at t-1.")
        number_ = layer["label"][1:]  # h1 -> 1: the trace's symbols, net_{h1}^<t> and h_{1}^<t-1>
        rule = (rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial {symbol(entry, 'latex')}}} = "
                rf"\sum_{{t=1}}^{{{steps}}} \frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial \mathrm{{net}}_{{h{number_}}}"
                rf"^{{\langle t\rangle}}[1]}} \cdot h_{{{number_}}}^{{\langle t-1\rangle}}[1]")
        columns = tuple(f"t={t}" for t in range(1, steps + 1))
        grid = Grid("the plan: a column per step", (
            tuple(number(self.trace.lookup(p.factors[0]), self.digits) for p in planned.paths),
            tuple(number(self.trace.lookup(p.factors[1]), self.digits) for p in planned.paths),
            tuple(number(p.value, self.digits) for p in planned.paths)),
            ("dE/dnet at t", "h at t-1", "contribution"), columns)
        items: list[Part] = [paragraph(plan), *align([rule]), *grid_items(time_columns(grid))]
        frames = _frames(f"BPTT: {entry}, the plan", items)
        shown = range(steps) if self.full or steps <= FULL_STEPS else [steps - 1]
        rows = []
        for k in shown:
            p = planned.paths[k]
            factors = " \\cdot ".join(symbol(f, "latex") for f in p.factors)
            numbers = " \\cdot ".join(operand(self.trace.lookup(f), self.digits, 'latex') for f in p.factors)
            rows.append(f"\\text{{step {k + 1}: }} & {factors} = {numbers} = {number(p.value, self.digits, 'latex')}")
        note = "" if len(shown) == steps else f"Steps 1 to {steps - 1} alike: their contributions are in the plan's grid."
        zero = [k + 1 for k, p in enumerate(planned.paths) if p.value == 0 and k in shown]
        if zero and not note:
            note = f"Step {zero[0]} adds 0: the state before it is h at t=0, here 0." if zero == [1] else ""
        items = [paragraph("Each step's contribution, its two factors read from the forward and the backward pass:"),
                 *align(rows, note)]
        items += _equation_items(Equations(("",), (self._line(planned),), ("",)))
        if planned is not batch:
            items += _equation_items(Equations(("",), (self._line(batch),), ("",)))
        update = names.updated(entry)
        if self.has(update):
            items += _equation_items(Equations(("",), (self._line(self.trace.step(update)),), ("",)))
        return frames + _frames(f"BPTT: {entry}, each step's term and their sum", items)

    def _line(self, step: Step) -> str:
        """The deck's line of a step in LaTeX: name = formula = numbers = value."""
        return equation(step, self.trace, self.digits, "latex")

    # -- through the softmax -----------------------------------------------------------------------------
    def softmax_frames(self, layer: dict[str, Any]) -> tuple[list[str], set[str]]:
        """One query row back through the softmax: the rule once, the row's a, dE/da and dE/dscore by key, one
        score derived in full (--all: every score of the row); and the names derived here."""
        label, count = layer["label"], int(layer["in_shape"][0])
        tag = self.tag()
        causal = count > 2 and not self.has(names.attention_value("score", label, (1, count), tag))
        row = 2 if causal else count  # the last row, or row 2 under a causal mask (its masked key shows)
        keys = [j for j in range(1, count + 1)
                if self.has(names.partial(names.TOTAL, names.attention_value("score", label, (row, j)), tag))]
        if not keys:
            return [], set()
        signal = self._signal
        rule = (rf"\frac{{\partial E}}{{\partial s_{{{row}j}}}} = a_{{{row}j}} \Big(\frac{{\partial E}}{{\partial "
                rf"a_{{{row}j}}}} - \sum_{{j'}} a_{{{row}j'}} \frac{{\partial E}}{{\partial a_{{{row}j'}}}}\Big)")
        masked = (f" (keys {keys[-1] + 1} to {count} come after the query: masked, no score, weight 0)"
                  if keys[-1] < count else "")
        text = (f"The softmax of query row {row} runs over the keys{masked}: every a[{row},j] depends on every score "
                f"of the row, so each score's gradient takes the whole row (s: the scores, a: the weights):")
        grid = Grid(f"query row {row}: a column per key",
                    (tuple(self.value(names.attention_value("a", label, (row, j), tag)) for j in keys),
                     tuple(self.value(signal(names.attention_value("a", label, (row, j)))) for j in keys),
                     tuple(self.value(signal(names.attention_value("score", label, (row, j)))) for j in keys)),
                    (f"a[{row},j]", f"dE/da[{row},j]", f"dE/dscore[{row},j]"), tuple(f"key {j}" for j in keys))
        derived = keys if self.full else keys[:1]
        taken = {signal(names.attention_value("score", label, (row, j))) for j in keys}
        steps = [self.trace.step(signal(names.attention_value("score", label, (row, j)))) for j in derived]
        items: list[Part] = [paragraph(text), *align([rule]), *grid_items([upright(grid)])]
        items += _equation_items(Equations(tuple(st.name for st in steps), tuple(self._line(st) for st in steps),
                                           ("",) * len(steps)))
        if not self.full and len(keys) > 1:
            items.append(paragraph("The other keys of the row alike (the grid); the other rows in the grid of "
                                   "dE_total/dscore below."))
        return _frames(f"Through the softmax: query row {row} of {label}", items), taken

    def _signal(self, quantity: str) -> str:
        """dE_total/d(quantity) of sample 1 (the batch error's where batchnorm mixes the samples)."""
        if self.meta.get("mixing"):
            return names.batch_partial(names.TOTAL, quantity, 1)
        return names.partial(names.TOTAL, quantity, self.tag())

    def value(self, name: str) -> str:
        """A trace value as the lecture shows it."""
        return number(self.trace.lookup(name), self.digits)

    # -- the three paths -----------------------------------------------------------------------------------
    def paths_frames(self, layer: dict[str, Any]) -> tuple[list[str], set[str]]:
        """A normalization's input at its first position: the gradient along its paths (through xhat, the
        variance and the mean; evaluation mode: xhat only), each with its numbers, their sum."""
        first = (1,) * len(layer["in_shape"])
        source = names.map_value("input", names.INPUT_MAP, first) if layer["input"] is None else \
            names.map_value("out", layer["input"], first)
        name = self._signal(source)
        source = names.at(source, self.tag())
        if not self.has(name):
            return [], set()
        step = self.trace.step(name)
        latex = top_level(step.latex)
        text = top_level(step.text)
        if len(latex) != len(text) or len(latex) not in (1, 3):
            return [], set()
        words = (["through its own xhat", "through the variance", "through the mean"] if len(latex) == 3 else
                 ["through xhat (the statistics are constants here)"])
        rows = []
        for word, piece, plain in zip(words, latex, text):
            part = dataclasses.replace(step, latex=tex.linear_fractions(piece, 8), text=plain)
            rows.append((word, f"{symbolic(part, 'latex')} = {substituted(part, self.trace, self.digits, 'latex')}"))
        rows.append(("their sum", f"{symbol(name, 'latex')} = {number(step.value, self.digits, 'latex')}"))
        intro = (f"{layer['label']} normalizes with its group's mean and variance, which depend on every value of "
                 f"the group: the gradient reaches {source} along {len(latex)} path{'s' if len(latex) > 1 else ''}"
                 + (", which add up:" if len(latex) > 1 else " (in evaluation mode the running statistics are "
                    "constants: no path through the mean or the variance):"))
        items: list[Part] = [paragraph(intro)]
        items += align([piece for word, row in rows for piece in wrap_row(rf"\text{{{word}:}}\quad ", row)])
        return _frames(f"The paths into {source}: {layer['label']}", items), {name}

    # -- the lecture ---------------------------------------------------------------------------------------
    def left_outframe(self) -> str:
        """The last frame of a summary: what it left out and how to see it."""
        size = (f"This network has {self.parameters()} parameters (more than {SUMMARY_PARAMETERS})"
                if self.parameters() > SUMMARY_PARAMETERS else
                f"Not summarised, this lecture would run over {SUMMARY_FRAMES} frames")
        kept = [DERIVED_WORDS[kind] for kind in dict.fromkeys(layer["kind"] for layer in self.meta["layers"])
                if kind in DERIVED_WORDS]
        said = ", ".join(kept[:-1]) + (" and " if len(kept) > 1 else "") + kept[-1] if kept else "no parameter"
        body = (f"{size}, so it is a summary: the first sample of several; one step, row or group derived in full "
                f"and the others as grids; the first entry of {said} derived in full, every other parameter entry "
                "as a table of its gradient and update (a weight's first row). Every frame's numbers are the whole "
                "network's.")
        how = "Everything, every step and row derived: stepgrad explain SPEC --format slides --all. One sample: --sample N."
        return frame("What this summary left out", f"{escape(body)}\\par\\medskip\n{escape(how)}")

    def tabled(self, parts: list[Block], layer: dict[str, Any] | None) -> list[Block]:
        """A summary's backward section: the first entries of the parameters not in DERIVED moved from their
        derivation into the table of the others (their gradient and update, as the trace has them)."""
        if not self.summary or layer is None:
            return parts
        for role, shape in layer["parameters"].items():
            if role in DERIVED.get(layer["kind"], ()):
                continue
            base = layer["parameter_names"][role]
            entry = names.with_position(base, (1,) * len(shape))
            before, after = cut_out(parts, f"The gradient of {entry}")
            if before == parts:
                continue
            update = names.updated(entry)
            row = (entry, self.value(entry), self.value(names.gradient(entry)),
                   self.value(update) if self.has(update) else "(not updated)")
            rest = next((k for k, p in enumerate(after) if isinstance(p, Table) and p.rows
                         and p.rows[0][0].startswith(base + "[")), None)
            said = f"derived as the first entries above (--all derives {'it' if rest is None else 'every one'})"
            if rest is None:
                after = [Paragraph(f"{entry}, {said}:"), Table(ENTRIES, (row,)), *after]
            else:
                after[rest] = Table(ENTRIES, (row, *after[rest].rows))  # type: ignore[union-attr]
                after[rest - 1] = Paragraph(f"The entries of {base}, each {said}:")
            parts = before + after
        return parts

    def section_frames(self, heading: str, parts: list[Block]) -> list[str]:
        """A section's blocks packed into frames (a summary: the first sample's, the first row of a table of
        entries; no derived line is shortened: the derivations are the lecture)."""
        if not parts:
            return []
        parts = breakable(turned(parts))
        if self.summary:
            return _frames(heading, glued(summarised(parts), short=False))
        return _frames(heading, glued(parts, short=False))

    def build(self) -> str:
        """The lecture's LaTeX source: its own opening frames, then the explanation's sections as frames."""
        out = [PREAMBLE, r"\usepackage{graphicx}", DISPLAY_SKIPS, f"\\title{{{self.title()}}}", r"\subtitle{derived number by number}",
               r"\author{stepgrad}", r"\date{}", r"\begin{document}", r"\begin{frame}\titlepage\end{frame}"]
        out += self.conventionsframe()
        out.append(self.pictureframe())
        sections: list[tuple[str, list[Block]]] = []
        for part in self.parts:
            if isinstance(part, Heading):
                sections.append((part.text, []))
            elif sections:
                sections[-1][1].append(part)
        pending: set[str] = set()  # derived on a paths frame: left out of the layer below's section
        for heading, parts in sections:
            if heading.startswith("The network and its conventions"):
                out += self.section_frames("The names", [p for p in parts if isinstance(p, Paragraph)
                                                         and not any(p.text == layer["description"]
                                                                     for layer in self.meta["layers"])])
                continue
            layer = next((m for m in self.meta["layers"] if heading.startswith("Backward pass: ")
                          and heading.split(": ", 1)[1].split(" ")[0] == m["label"]), None)
            kind = layer["kind"] if layer is not None else None
            if pending:
                before, after = split_at(parts, pending)
                parts = before + after
            parts = self.tabled(parts, layer)
            if kind == "rnn" and layer is not None:
                entry = names.with_position(layer["parameter_names"]["weight_h"], (1, 1))
                before, after = cut_out(parts, f"The gradient of {entry}")
                out += self.section_frames(heading, before) + self.bptt_frames(layer)
                out += self.section_frames(heading + " (continued)", after)
            elif kind == "attention" and layer is not None:
                frames, taken = self.softmax_frames(layer)
                before, after = split_at(parts, taken) if taken else (parts, [])
                out += self.section_frames(heading, before) + frames
                if after:
                    out += self.section_frames(heading + " (continued)", after)
            elif kind in ("layernorm", "batchnorm") and layer is not None:
                frames, pending = self.paths_frames(layer)
                if pending and layer["input"] is None:
                    before, after = split_at(parts, pending)
                    parts, pending = before + after, set()
                out += self.section_frames(heading, parts) + frames
                continue
            else:
                out += self.section_frames(heading, parts)
            pending = set()
        if self.summary:
            out.append(self.left_outframe())
        out.append(r"\end{document}")
        return "\n".join(out) + "\n"


def render_seq_slides(trace: Trace, digits: Precision = 9, full: bool = False, matrix: bool = False,
                      derive: bool = False, **_: object) -> str:
    """A sequence model's trace as a Beamer lecture (pdflatex twice)."""
    lecture = _SequenceLecture(trace, digits, full, matrix, derive)
    source = lecture.build()
    if not full and not lecture.summary and source.count(r"\begin{frame}") > SUMMARY_FRAMES:
        lecture.summary = True  # few parameters but many steps or samples: summarised all the same
        source = lecture.build()
    return source
