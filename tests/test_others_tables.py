"""The gallery lectures' "others, computed the same way" as tables a lecturer projects: a row per weight (or
neuron, or bias), a column per quantity, at 9pt, every value equal to PyTorch's.

Each table is read back from the compiled PDF with pdfplumber: the numbers of each printed row, in order,
at least 8pt. Which quantity each number is comes from the table's LaTeX (the row's weight or neuron and the
column's heading, turned back into a name); its value is computed here with torch autograd from the spec's
numbers alone (the forward pass, each sample's own error, the batch error, the update), never read from
stepgrad. The frame counts are the ones docs/guides/formats.md reports.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess

import pytest
from tests.conftest import require_tool
from tests.gallery import GALLERY, network

import stepgrad
from stepgrad.cli import main
from stepgrad.core import names

torch = pytest.importorskip("torch")
OTHERS = "The others, computed the same way"
FRAMES = {"3-4-2 tanh/softmax CE, 2 samples": 39, "2-3-3-1 relu, per-neuron biases": 39, "deck": 33}
NUMBER = re.compile(r"^[−-]?\d+(?:\.\d+)?(?:e[−-]?\d+)?$")


def _slides(key: str, tmp_path) -> str:
    out = io.StringIO()
    args = ["explain", "--format", "slides"]
    if key != "deck":
        spec = tmp_path / "net.json"
        spec.write_text(json.dumps(GALLERY[key]))
        args.insert(1, str(spec))
    with contextlib.redirect_stdout(out):
        main(args)
    return out.getvalue()


@pytest.mark.slow  # a few seconds each (the CLI writes the whole lecture)
@pytest.mark.parametrize("key", list(FRAMES))
def test_frame_counts(key, tmp_path) -> None:
    source = _slides(key, tmp_path)
    assert source.count(r"\begin{frame}") == FRAMES[key]
    if key != "deck":  # the others' tables are the new shape: no name = value pairs left
        assert OTHERS in source and r"\scriptsize" not in _others(source)[0][1]


def _others(source: str) -> list[tuple[int, str]]:
    """(frame index, body) of each frame of the others' tables (the title page is frame 0)."""
    frames = source.split(r"\begin{frame}")[1:]
    return [(k, body) for k, body in enumerate(frames) if OTHERS in body.split("\n", 2)[1]]


class Reference:
    """The network's quantities by name, computed with torch from the spec (float64)."""

    def __init__(self, key: str) -> None:
        net = network(key)
        meta = stepgrad.explain(net).meta  # names only: which neuron, weight and bias is which
        self.neurons, self.weights, self.biases = meta["neurons"], meta["weights"], meta["biases"]
        self.net = net
        self.W = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in net.weights]
        self.B = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in net.biases]
        self.samples = list(zip(net.inputs, net.targets))
        self.nets, self.outs, self.errors, self.totals = self._forward(self.W, self.B)
        count = len(self.samples)
        self.total = sum(self.totals) / (count if net.reduction == "mean" else 1)
        grads = torch.autograd.grad(self.total, self.W + self.B, retain_graph=True)
        lr = net.learning_rate
        self.W_after = [(w - lr * g).detach() for w, g in zip(self.W, grads[:len(self.W)])]
        self.B_after = [(b - lr * g).detach() if net.update_biases else b.detach()
                        for b, g in zip(self.B, grads[len(self.W):])]
        self.after = self._forward(self.W_after, self.B_after)

    def _forward(self, W, B):
        nets, outs, errors, totals = [], [], [], []
        for x, t in self.samples:
            a = torch.tensor(x, dtype=torch.float64)
            n_s, o_s = [], []
            for layer, (w, b) in enumerate(zip(W, B)):
                z = w @ a + b
                act = self.net.activations[layer]
                a = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
                     "softmax": lambda v: torch.softmax(v, 0)}[act](z)
                n_s.append(z)
                o_s.append(a)
            target = torch.tensor(t, dtype=torch.float64)
            e = -target * torch.log(a) if self.net.loss == "cross_entropy" else 0.5 * (target - a) ** 2
            nets.append(n_s)
            outs.append(o_s)
            errors.append(e)
            totals.append(e.sum())
        return nets, outs, errors, totals

    def _where(self, neuron: str) -> tuple[int, int]:
        for layer, column in enumerate(self.neurons[1:]):
            if neuron in column:
                return layer, column.index(neuron)
        raise KeyError(neuron)

    def _parameter(self, name: str) -> tuple[list, int, tuple[int, ...]]:
        for layer, rows in enumerate(self.weights):
            for j, row in enumerate(rows):
                if name in row:
                    return self.W, layer, (j, row.index(name))
        for layer, column in enumerate(self.biases):
            if name in column:
                return self.B, layer, (column.index(name),)
        raise KeyError(name)

    def fed(self, parameter: str) -> str:
        """The neuron whose net a weight or bias feeds."""
        _, layer, index = self._parameter(parameter)
        return self.neurons[layer + 1][index[0]]

    def tensor(self, name: str):
        """The tensor holding quantity `name` (a network quantity, not a partial) and the index in it."""
        n = names.parse(name)
        s = (n.sample or 1) - 1
        nets, outs, errors, totals = self.after if n.after else (self.nets, self.outs, self.errors, self.totals)
        if n.kind in ("net", "out"):
            layer, j = self._where(n.neuron)
            return (nets if n.kind == "net" else outs)[s][layer], (j,)
        if n.kind == "error" and n.neuron:
            return errors[s], (self._where(n.neuron)[1],)
        if n.kind == "error":
            return (totals[s] if n.sample else self.total), ()
        group, layer, index = self._parameter(n.parameter)
        if n.after:
            return (self.W_after if group is self.W else self.B_after)[layer], index
        return group[layer], index

    def value(self, name: str) -> float:
        n = names.parse(name)
        if n.kind != "partial":
            tensor, index = self.tensor(name)
            return float(tensor[index].detach())
        over, under = names.sides(name)  # with their samples: dE_total[1]/dw14 -> E_total[1], w14
        top, top_index = self.tensor(over)
        bottom, bottom_index = self.tensor(under)
        (grad,) = torch.autograd.grad(top[top_index], bottom, retain_graph=True, allow_unused=True)
        return 0.0 if grad is None else float(grad[bottom_index])


def _subject(label: str) -> str:
    """A row label's name: w_{14} -> w14, h_{1,2} -> h1_2, b_{h_{1,2}} -> b_h1_2, o_{2} -> o2."""
    plain = label.replace("{", "").replace("}", "")
    squeeze = lambda text: text.replace("_", "", 1).replace(",", "_")  # noqa: E731
    return "b_" + squeeze(plain[2:]) if plain.startswith("b_") else squeeze(plain)


def _quantity(symbol: str, kind: str, subject: str, reference: Reference) -> str:
    """A column heading (LaTeX) for the row of `subject` turned back into the name of its quantity."""
    if r"/\partial" in symbol:
        top, bottom = symbol.removeprefix(r"\partial ").split(r"/\partial ")
        return f"d{_quantity(top, kind, subject, reference)}/d{_quantity(bottom, kind, subject, reference)}"
    sample = re.search(r"\^\{\[(\d+)\]\}$", symbol)
    after = "^{+}" in symbol
    core = re.sub(r"\^\{\[\d+\]\}$|\^\{\+\}", "", symbol).replace("{", "").replace("}", "").replace(r"\mathrm", "")
    neuron = re.search(r"_([a-z])_([\d,]+)$", core)  # a neuron the heading names itself: net_{o_{2}}
    base = core[:neuron.start()] if neuron else core
    suffix = ("+" if after else "") + (f"[{sample.group(1)}]" if sample else "")
    if base in ("w", "b"):
        return subject + suffix
    if base == "E_total":
        return "E_total" + suffix
    own = f"{neuron.group(1)}{neuron.group(2).replace(',', '_')}" if neuron else (
        subject if kind == "neuron" else reference.fed(subject))
    return f"{'E' if base == 'E' else base}_{own}" + suffix


def _arrays(body: str) -> list[list[tuple[str, list[str], list[tuple[str, list[str]]]]]]:
    """The LaTeX arrays of a frame, as pieces (an array, or two halves side by side): kind, headings, rows."""
    pieces = []
    for piece in body.split(r"\medskip"):
        arrays = []
        for array in re.findall(r"\\begin\{array\}\{[^}]*\}\n(.*?)\n\\end\{array\}", piece, re.S):
            head, *rows = array.split("\n")
            cells = [c.strip() for c in head.removesuffix(r" \\ \hline").split(" & ")]
            kind = re.search(r"\\text\{(\w+)\}", cells[0]).group(1)  # type: ignore[union-attr]
            arrays.append((kind, cells[1:], [(r.split(" & ")[0], [c.strip() for c in r.removesuffix(r" \\").split(" & ")[1:]])
                                             for r in rows]))
        if arrays:
            pieces.append(arrays)
    return pieces


def _printed_rows(page) -> list[list[tuple[float, float]]]:
    """The numbers of each printed row of a page (value, font size), top to bottom, left to right."""
    words = [w for w in page.extract_words(x_tolerance=1.5, extra_attrs=["size"])
             if NUMBER.match(w["text"]) and w["size"] > 7 and w["top"] > 30]
    rows: list[list[dict]] = []
    for w in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        if rows and abs(rows[-1][0]["top"] - w["top"]) < 2:
            rows[-1].append(w)
        else:
            rows.append([w])
    return [[(float(w["text"].replace("−", "-")), w["size"]) for w in sorted(row, key=lambda w: w["x0"])]
            for row in rows]


@pytest.mark.latex
@pytest.mark.parametrize("key", [k for k in FRAMES if k != "deck"])
def test_every_value_in_the_tables_is_torchs(key, tmp_path, artifacts) -> None:
    import pdfplumber  # a test dependency (pyproject's test extra): never skipped

    pdflatex = require_tool("pdflatex")
    source = _slides(key, tmp_path)
    (tmp_path / "deck.tex").write_text(source)
    for _ in range(2):
        done = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "deck.tex"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:]
    log = (tmp_path / "deck.log").read_text(errors="replace")
    assert not [m for m in re.findall(r"Overfull \\hbox \((\d+\.\d+)pt", log) if float(m) > 2]
    (artifacts / f"others-{key.split()[0]}.pdf").write_bytes((tmp_path / "deck.pdf").read_bytes())
    reference = Reference(key)
    checked = 0
    with pdfplumber.open(tmp_path / "deck.pdf") as pdf:
        for index, body in _others(source):
            printed = iter(_printed_rows(pdf.pages[index]))
            for arrays in _arrays(body):  # a piece: its rows printed line by line, halves side by side
                for r in range(max(len(rows) for _, _, rows in arrays)):
                    expected = []
                    for kind, headings, rows in arrays:
                        if r < len(rows):
                            label, cells = rows[r]
                            subject = _subject(label)
                            expected += [_quantity(h, kind, subject, reference) for h, c in zip(headings, cells) if c]
                    if not expected:  # a row whose cells are all derived above prints no number
                        continue
                    line = next(printed)
                    assert len(line) == len(expected), (index, expected, line)
                    for name, (value, size) in zip(expected, line):
                        assert size >= 8, (name, size)
                        truth = reference.value(name)
                        assert value == pytest.approx(truth, rel=1e-8, abs=1e-10), (name, value, truth)
                        checked += 1
    assert checked >= 60, checked
