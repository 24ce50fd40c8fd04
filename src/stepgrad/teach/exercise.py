"""Exercises with answer keys: a new network with nice numbers, a problem sheet, the full derivation
as the key, and a blank solution template that `stepgrad check` marks.

    >>> ex = generate(layers=(2, 2, 2), seed=7, round_to=4)
    >>> ex.network.weights[0]                      # two decimals, values away from saturation
    array([[0.24, 0.11],
           [0.73, 0.79]])
    >>> print(ex.template())                       # "net_h1 = " ... for the student to fill in
    # Backpropagation exercise, seed 7: write each value after its '='.
    ...
    >>> files = ex.files("markdown")               # sheet.md, key.md, solution-template.txt, network.toml

The same seed gives the same exercise (Python's random.Random, stable across versions).
"""

from __future__ import annotations

import html
import importlib.util
import random
from dataclasses import dataclass

from stepgrad.core import names as quantity
from stepgrad.core.errors import StepgradError
from stepgrad.core.functions import ACTIVATIONS
from stepgrad.core.names import latex_symbol, layout
from stepgrad.core.spec import Network
from stepgrad.core.trace import Trace
from stepgrad.formats import escape
from stepgrad.tracing.build import explain

ACTIVATION_CHOICES = tuple(name for name, entry in ACTIVATIONS.items() if entry.hidden_ok)  # one everywhere
LEARNING_RATES = (0.5, 0.25, 0.1)
MAX_NET = {"sigmoid": 2.5, "tanh": 1.5}  # |net| beyond this: saturated, derivatives vanish
MIN_KINK = 0.05  # relu / leaky_relu: |net| at least this, so the derivative is unambiguous
MIN_MISS = 0.05  # every output at least this far from its target: a visible gradient
EXTENSIONS = {"markdown": "md", "latex": "tex", "html": "html", "text": "txt"}


def parse_layers(text: str) -> tuple[int, ...]:
    """'2-2-2' (or '2,2,2') -> (2, 2, 2)."""
    parts = text.replace(",", "-").split("-")
    try:
        layers = tuple(int(p) for p in parts)
    except ValueError:
        layers = ()
    if len(layers) < 2 or not all(1 <= n <= 6 for n in layers):
        raise StepgradError(f"expected neurons per layer like 2-2-2 (2 to 6 layers of 1 to 6), got {text!r}",
                            where="--layers")
    return layers


def _nice(rng: random.Random, low: float, high: float, negative: float = 0.0) -> float:
    """A number with at most two decimals in [low, high] (never 0), negative with probability `negative`."""
    value = rng.randint(round(low * 100), round(high * 100)) / 100
    return -value if rng.random() < negative else value


def _draw(rng: random.Random, layers: tuple[int, ...], activation: str, learning_rate: float | None,
          loss: str = "half_squared_error", output: str | None = None, samples: int = 1) -> dict:
    depth = len(layers) - 1
    negative = 0.0 if activation == "sigmoid" else 0.3
    targets = {"sigmoid": (0.01, 0.99), "tanh": (0.05, 0.9)}.get(activation, (0.05, 0.95))
    acts = {"activations": [activation] * (depth - 1) + [output]} if output else {"activation": activation}
    return {
        "name": "exercise", "layers": list(layers), **acts, "loss": loss,
        "learning_rate": learning_rate or rng.choice(LEARNING_RATES),
        "weights": [[[_nice(rng, 0.05, 0.95, negative) for _ in range(layers[l])] for _ in range(layers[l + 1])]
                    for l in range(depth)],
        "biases": [_nice(rng, 0.05, 0.75) for _ in range(depth)],
        "samples": [{"inputs": [_nice(rng, 0.05, 0.95) for _ in range(layers[0])],
                     "targets": _targets(rng, layers[-1], activation, targets, output)} for _ in range(samples)],
    }


def _targets(rng: random.Random, n: int, activation: str, bounds: tuple[float, float], output: str | None) -> list[float]:
    if output == "softmax":  # a class label, one-hot: cross-entropy's usual target
        hot = rng.randrange(n)
        return [1.0 if k == hot else 0.0 for k in range(n)]
    return [_nice(rng, *bounds, negative=0.3 if activation == "tanh" else 0.0) for _ in range(n)]


def _acceptable(net: Network, trace: Trace) -> bool:
    """Away from saturation, no neuron on a relu kink or dead, every output visibly off target."""
    values = trace.values
    batch = [None] if net.inputs is None or len(net.inputs) == 1 else list(range(1, len(net.inputs) + 1))
    for l, group in enumerate(layout(net.layers, net.shared_biases).neurons[1:]):  # type: ignore[arg-type]
        act = net.activations[l]
        nets = [values[quantity.net(n, k)] for n in group for k in batch]
        if act in MAX_NET and max(abs(x) for x in nets) > MAX_NET[act]:
            return False
        if act in ("relu", "leaky_relu") and (min(abs(x) for x in nets) < MIN_KINK or max(nets) <= 0):
            return False
    outputs = layout(net.layers, net.shared_biases).neurons[-1]  # type: ignore[arg-type]
    return all(abs(values[quantity.target(o, k)] - values[quantity.out(o, k)]) >= MIN_MISS for o in outputs for k in batch)


@dataclass(frozen=True)
class Exercise:
    """One generated exercise: the network, and the answer key's trace (rounded in hand mode)."""

    seed: int
    network: Network
    trace: Trace
    round_to: int | None = None

    def template(self, filled: bool = False) -> str:
        """The solution template in the `check` format: `name = ` for every quantity to compute."""
        check = "stepgrad check --network network.toml" + (f" --round {self.round_to}" if self.round_to is not None else "")
        lines = [f"# Backpropagation exercise, seed {self.seed}: write each value after its '='.",
                 f"# Check it with: {check} solution.txt", ""]
        width = max(len(s.name) for s in self.trace)
        for section in self.trace.sections:
            if section.key == "given":
                continue
            lines.append(f"# {section.title}")
            for step in section.steps:
                value = f" {step.value!r}" if filled else ""
                lines.append(f"{step.name:<{width}} ={value}")
            lines.append("")
        return "\n".join(lines)

    def key(self, fmt: str = "markdown", digits: int = 9) -> str:
        """The answer key: the full derivation in `fmt` (a renderer of stepgrad.render)."""
        from stepgrad.formats import FORMATS, render

        module = FORMATS.get(fmt)
        if module and importlib.util.find_spec(module) is not None:
            return render(self.trace, fmt, digits=digits)
        text = render(self.trace, "text", digits=digits)  # that format's renderer has not landed yet
        title = f"Answer key (seed {self.seed})"
        if fmt == "latex":
            text = text.replace("\u2500", "-").encode("ascii", "replace").decode()  # verbatim is ASCII-only
            return ("\\documentclass{article}\n\\begin{document}\n\\section*{" + title + "}\n"
                    "\\begin{verbatim}\n" + text + "\\end{verbatim}\n\\end{document}\n")
        if fmt == "html":
            return f"<!doctype html>\n<meta charset=utf-8>\n<title>{title}</title>\n<h1>{title}</h1>\n<pre>{html.escape(text)}</pre>\n"
        return f"# {title}\n\n```\n{text}```\n"

    def sheet(self, fmt: str = "markdown", diagram: str | None = None, student: str | None = None) -> str:
        """The problem sheet: the network, the numbers and the task, in `fmt`; `diagram`: an image file
        of the network to show (markdown and html sheets); `student`: whose sheet it is (shown in the
        title, escaped for `fmt` like every text)."""
        blocks = _sheet_blocks(self, student)
        if diagram and fmt in ("markdown", "html"):
            blocks.insert(2, ("img", diagram, "The network with its weights"))
        elif diagram and fmt == "latex":
            from stepgrad.pictures.tikz import picture

            blocks.insert(2, ("tikz", picture(self.network)))
        return _WRITERS[fmt](blocks, fmt)

    def diagram(self) -> str:
        """The network drawn as SVG, every weight on its edge."""
        from stepgrad.pictures.diagram import network_svg

        return network_svg(self.network, self.trace, show="weights", digits=4)

    def files(self, fmt: str = "markdown", digits: int = 9) -> dict[str, str]:
        """File name -> contents: sheet (with the diagram), key, solution template, filled key values,
        network spec and network.svg."""
        from stepgrad.core.persist import dumps

        ext = EXTENSIONS[fmt]
        return {f"sheet.{ext}": self.sheet(fmt, diagram="network.svg"), f"key.{ext}": self.key(fmt, digits),
                "solution-template.txt": self.template(), "key-values.txt": self.template(filled=True),
                "network.toml": dumps(self.network), "network.svg": self.diagram()}


def generate(layers: tuple[int, ...] = (2, 2, 2), activation: str = "sigmoid", seed: int = 0,
             round_to: int | None = None, learning_rate: float | None = None, loss: str = "half_squared_error",
             output: str | None = None, samples: int = 1) -> Exercise:
    """A new exercise with nice numbers; the same arguments give the same exercise.

    `loss` (a LOSSES entry), `output` (the output layer's activation, e.g. softmax with cross_entropy)
    and `samples` (a batch: the gradient is the mean over the samples) vary the problem."""
    if activation not in ACTIVATION_CHOICES:
        raise StepgradError(f"choose one of {', '.join(ACTIVATION_CHOICES)}", where="--activation")
    if not 1 <= samples <= 4:
        raise StepgradError("between 1 and 4 samples", where="--samples")
    rng = random.Random(seed)
    for _ in range(2000):
        net = Network.from_dict(_draw(rng, layers, activation, learning_rate, loss, output, samples), "<exercise>")
        trace = explain(net)
        if _acceptable(net, trace):
            key = trace if round_to is None else explain(net, round_to=round_to)
            return Exercise(seed, net, key, round_to)
    raise StepgradError(f"no exercise with nice numbers found for {'-'.join(map(str, layers))} {activation}; "
                        "try another seed or a smaller network")


# -- the problem sheet: a few blocks, and one small writer per format ----------------------------------

def _sheet_blocks(ex: Exercise, student: str | None = None) -> list[tuple]:
    net, values = ex.network, ex.trace.values
    names = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
    rows = []
    for l, layer in enumerate(names.weights):
        for j, row in enumerate(layer):
            for i, w in enumerate(row):
                rows.append((w, f"{names.neurons[l][i]} → {names.neurons[l + 1][j]}", _fmt(net.weights[l][j, i])))
    batch = [None] if net.inputs is None or len(net.inputs) == 1 else list(range(1, len(net.inputs) + 1))
    given = [(quantity.at(n, k), _fmt(values[quantity.at(n, k)])) for k in batch for n in names.neurons[0]] + \
            [(quantity.target(o, k), _fmt(values[quantity.target(o, k)])) for k in batch for o in names.neurons[-1]] + \
            [(b, _fmt(values[b])) for layer in names.biases for b in layer] + [("eta", _fmt(net.learning_rate))]
    act = net.activations[0]
    loss = {"half_squared_error": "E_total = Σ ½ (target − out)²"}.get(net.loss, f"the {net.loss.replace('_', ' ')} loss")
    output = f", {net.activations[-1]} in the output layer" if net.activations[-1] != act else ""
    batch_note = (f" There are {len(net.inputs)} samples: compute every quantity per sample (names end in [k]); "
             f"each gradient is the {'sum' if net.reduction == 'sum' else 'mean'} over the samples."
             if net.inputs is not None and len(net.inputs) > 1 else "")
    rounding = (f" Round every value you compute to {ex.round_to} decimals and carry the rounded value on."
                if ex.round_to is not None else " Keep at least 6 significant digits.")
    return [
        ("h1", f"Backpropagation exercise (seed {ex.seed})" if student is None else
               f"Backpropagation exercise for {escape.plain(student)}"),
        ("p", f"A {'-'.join(map(str, net.layers))} network: {len(net.layers) - 2} hidden layer(s), {act} activation "
              f"({ACTIVATIONS[act].text.replace('«net»', 'net')}){output}, error {loss}, "
              f"learning rate eta = {_fmt(net.learning_rate)}. " + _bias_note(net) + batch_note),
        ("h2", "The weights"), ("table", ("weight", "edge", "value"), rows),
        ("h2", "Inputs, targets, biases"), ("table", ("name", "value"), given),
        ("h2", "Your task"),
        ("ol", ["The forward pass: net and out of every neuron.",
                "The error of each output and E_total.",
                "Every weight's gradient dE_total/dw by the chain rule, one factor at a time "
                "(use the old weights throughout: all gradients first, then all updates).",
                "The new weights w+ = w − eta · dE_total/dw.",
                "The forward pass and the error E_total+ with the new weights."]),
        ("p", "Write your answers into solution-template.txt (the names are those of `stepgrad names`)." + rounding),
    ]


def _bias_note(net: Network) -> str:
    """What the sheet says about the biases: shared or one per neuron, updated or not (as the spec says)."""
    shared = [net.shared_bias(l) for l in range(net.depth) if net.layers[l + 1] > 1]  # one neuron: either reading
    updated = " and is updated like the weights." if net.update_biases else " and is not updated."
    if all(shared):
        return "Each layer's bias is shared by its neurons" + updated
    if not any(shared):
        return "Each neuron has its own bias" + updated
    return "Some layers share one bias, others have one per neuron; " + \
        ("the biases are updated like the weights." if net.update_biases else "the biases are not updated.")


def _fmt(x: float) -> str:
    return f"{float(x):.10g}"


def _markdown(blocks: list[tuple], fmt: str) -> str:
    out = []
    for kind, *rest in blocks:
        if kind in ("h1", "h2"):  # a title may hold a student's name: text, never markup
            out.append(("# " if kind == "h1" else "## ") + (escape.markdown(rest[0]) if fmt == "markdown" else rest[0]))
        elif kind == "p":
            out.append(rest[0])
        elif kind == "ol":
            out.append("\n".join(f"{i}. {item}" for i, item in enumerate(rest[0], 1)))
        elif kind == "img":
            out.append(f"![{rest[1]}]({rest[0]})")
        elif kind == "code":  # formulas and numbers, shown as written
            out.append("```\n" + "\n".join(rest[0]) + "\n```")
        else:
            headers, rows = rest
            out.append("\n".join(["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
                                 + ["| " + " | ".join(f"`{c}`" if k == 0 else c for k, c in enumerate(r)) + " |" for r in rows]))
    return "\n\n".join(out) + "\n"


_LATEX_SYMBOLS = {"Σ": r"$\Sigma$", "½": r"$\frac12$", "²": r"$^2$", "−": "-", "·": r"$\cdot$", "→": r"$\to$",
                  "`": "", "<": "$<$", ">": "$>$", "|": "$|$"}


def _latex_text(s: str) -> str:
    """Sheet text (and a student's name) for LaTeX: every special character escaped, the sheet's symbols as math."""
    return "".join(_LATEX_SYMBOLS.get(c) or escape.LATEX_SPECIAL.get(c, c) for c in escape.plain(s))


def _ascii(line: str) -> str:
    """A line for verbatim: printable ASCII only (a verbatim block ends only at its end marker)."""
    line = escape.plain(line).replace("\u2212", "-").replace("\u00b7", "*")
    return line.encode("ascii", "replace").decode().replace("\\end{verbatim}", "\\end {verbatim}")


def _latex(blocks: list[tuple], fmt: str) -> str:
    out = [r"\documentclass{article}", r"\usepackage[utf8]{inputenc}"]
    out += [r"\usepackage{tikz}"] if any(b[0] == "tikz" for b in blocks) else []
    out += [r"\begin{document}"]
    for kind, *rest in blocks:
        if kind in ("h1", "h2"):
            out.append((r"\section*{" if kind == "h1" else r"\subsection*{") + _latex_text(rest[0]) + "}")
        elif kind == "p":
            out.append(_latex_text(rest[0]) + "\n")
        elif kind == "ol":
            out.append("\\begin{enumerate}\n" + "\n".join(r"\item " + _latex_text(i) for i in rest[0]) + "\n\\end{enumerate}")
        elif kind == "tikz":
            out.append("\\begin{center}\n" + rest[0] + "\n\\end{center}\n")
        elif kind == "code":  # verbatim is ASCII-only, and nothing in it runs as a command
            out.append("\\begin{verbatim}\n" + "\n".join(_ascii(line) for line in rest[0]) + "\n\\end{verbatim}")
        else:
            headers, rows = rest
            body = [" & ".join(_latex_text(h) for h in headers) + r" \\ \hline"]
            body += [" & ".join([f"${latex_symbol(r[0])}$"] + [_latex_text(c) for c in r[1:]]) + r" \\" for r in rows]
            out.append("\\begin{tabular}{" + "l" * len(headers) + "}\n" + "\n".join(body) + "\n\\end{tabular}\n")
    return "\n".join(out + [r"\end{document}", ""])


def _html(blocks: list[tuple], fmt: str) -> str:
    title = html.escape(blocks[0][1])
    out = [f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>"]
    for kind, *rest in blocks:
        if kind in ("h1", "h2"):
            out.append(f"<{kind}>{html.escape(rest[0])}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{html.escape(rest[0])}</p>")
        elif kind == "ol":
            out.append("<ol>" + "".join(f"<li>{html.escape(i)}</li>" for i in rest[0]) + "</ol>")
        elif kind == "code":
            out.append("<pre>" + html.escape("\n".join(rest[0])) + "</pre>")
        elif kind == "img":
            out.append(f'<p><img src="{html.escape(rest[0])}" alt="{html.escape(rest[1])}"></p>')
        else:
            headers, rows = rest
            head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "\n".join(out + ["</body></html>", ""])


_WRITERS = {"markdown": _markdown, "text": _markdown, "latex": _latex, "html": _html}
