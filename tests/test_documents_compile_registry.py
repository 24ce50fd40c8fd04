"""Every registry entry's article and slides compile, and nothing in them prints as the wrong character.

For each activation (output layer, and hidden where it may be) and every loss the spec accepts after it,
`explain --derive` writes the LaTeX article and the Beamer slides of one step (2-2-2; a softmax output
on 3-4-2 under tanh). The documents of one activation are joined into one article and one deck (their
bodies under one preamble) so the whole registry compiles in a few pdflatex runs; a failure names the
loss whose part holds the failing line. No line may run past the margin. The PDF is read back with pdftotext: a text-mode < > | "
in the OT1 font comes out as ¡ ¿ — ”, and a stray \\ { } $ is LaTeX that leaked into the text.

The other formats (text, Markdown, HTML, JSON) of the same steps hold no Python in a formula
(`x if c else y`, `**`, `np.`) and no character printed in the wrong font.

The registry is iterated, never listed: a new entry is compiled the moment it exists.
"""

from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.conftest import require_tool

from stepgrad.api import Extras, explain_document
from stepgrad.core.functions import ACTIVATIONS, LOSSES

FORMATS = ("latex", "slides")
# what a wrong font or leaked markup prints: OT1's text-mode < > | " and the quotes around them, LaTeX syntax
WRONG = re.compile(r"[¿¡—”“\\{}$]")
OVERFULL = re.compile(r"Overfull \\[hv]box \((\d+(?:\.\d+)?)pt too (?:wide|high)\)")


def spec(activation: str, loss: str) -> dict:
    """A small network ending in `activation` with `loss`: the hidden layer uses it too where it may."""
    entry = LOSSES[loss]
    hidden = activation if ACTIVATIONS[activation].hidden_ok else "tanh"
    layers = [3, 4, 2] if not ACTIVATIONS[activation].hidden_ok else [2, 2, 2]
    # a loss of out alone gets a target far away too (both pieces of huber); a combined one a distribution
    targets = [1.0, 0.0] if entry.combination(activation) else [2.5, 0.0]
    inputs = [0.3, -0.7, 0.2][:layers[0]]
    return {"name": f"{activation} and {loss}", "layers": layers, "activations": [hidden, activation], "loss": loss,
            "learning_rate": 0.5, "seed": 3, "update_biases": True,
            "samples": [{"inputs": inputs, "targets": targets}]}


def pairs(activation: str) -> list[str]:
    """The losses the spec accepts after `activation` outputs."""
    return [name for name, entry in LOSSES.items() if entry.problem(activation) is None]


def joined(parts: list[tuple[str, str]]) -> tuple[str, list[tuple[int, str]]]:
    """One document from several: the first one's preamble and every body; with the first line of each
    body (for naming the part a failing line belongs to)."""
    preamble = parts[0][1].split(r"\begin{document}")[0]
    out, starts = [preamble + "\\begin{document}\n"], []
    for label, source in parts:
        title = re.search(r"\\title\{(.*)\}", source).group(1)  # type: ignore[union-attr]
        body = source.split("\\begin{document}\n", 1)[1].rsplit(r"\end{document}", 1)[0]
        heading = rf"\begin{{center}}\Large {title}\end{{center}}"  # each part's own title
        body = body.replace(r"\maketitle", heading).replace(r"\titlepage", heading)
        starts.append(("".join(out).count("\n") + 1, label))
        out.append(body + ("\n\\clearpage\n" if not source.lstrip().startswith(r"\documentclass[aspectratio") else ""))
    out.append("\\end{document}\n")
    return "".join(out), starts


def part_of(line: int, starts: list[tuple[int, str]]) -> str:
    return [label for first, label in starts if first <= line][-1] if starts and line >= starts[0][0] else "preamble"


def compile_pdf(source: str, name: str, folder, pdflatex: str, pdftotext: str) -> tuple[int, str, str]:
    """pdflatex once (nonstop, halting on the first error): (return code, log, pdftotext's text)."""
    (folder / f"{name}.tex").write_text(source)
    result = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"], cwd=folder,
                            capture_output=True, text=True, timeout=240)
    log = (folder / f"{name}.log").read_text(errors="replace")
    if result.returncode:
        return result.returncode, log, ""
    text = subprocess.run([pdftotext, f"{name}.pdf", "-"], cwd=folder, capture_output=True, text=True,
                          check=True).stdout
    return 0, log, text


@pytest.mark.latex
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_every_document_of_the_activation_compiles(activation, tmp_path):
    tools = require_tool("pdflatex"), require_tool("pdftotext")  # under CI=true a missing one fails
    sources: dict[str, list[tuple[str, str]]] = {fmt: [] for fmt in FORMATS}
    for loss in pairs(activation):
        path = tmp_path / f"{loss}.json"
        path.write_text(json.dumps(spec(activation, loss)))
        for fmt in FORMATS:
            source = explain_document(str(path), fmt=fmt, extras=Extras(derive=True, train_iterations=0))
            sources[fmt].append((loss, source))
    assert sources["latex"], f"no loss accepts {activation} outputs"
    documents = {fmt: joined(parts) for fmt, parts in sources.items()}
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(FORMATS, pool.map(lambda fmt: compile_pdf(documents[fmt][0], fmt, tmp_path, *tools), FORMATS)))
    for fmt, (code, log, text) in results.items():
        if code:
            error = log[log.find("\n!"):][:600]
            line = re.search(r"\nl\.(\d+)", error)
            where = part_of(int(line.group(1)), documents[fmt][1]) if line else "?"
            pytest.fail(f"{fmt} of {activation} with {where} does not compile:{error}")
        overfull = [float(x) for x in OVERFULL.findall(log) if float(x) > 2]
        assert not overfull, f"{fmt} of {activation}: {len(overfull)} lines run past the margin, by {max(overfull)}pt"
        wrong = [ln for ln in text.splitlines() if WRONG.search(ln)]
        assert not wrong, f"{fmt} of {activation}: {len(wrong)} lines print wrongly, e.g. {wrong[:3]}"
        flowing = " ".join(text.replace("_", " ").split())  # a title may break across lines; \\_ is a rule
        shown = [loss for loss in pairs(activation) if f"{activation} and {loss}".replace("_", " ") in flowing]
        assert shown == pairs(activation), f"{fmt} of {activation}: parts missing from the PDF"


def test_the_writer_escapes_what_ot1_text_cannot_print():
    from stepgrad.formats.latex import escape

    assert escape("net > 0 | x < 1") == r"net \textgreater{} 0 \textbar{} x \textless{} 1"
    assert escape("λ ≤ 1") == r"[greek small letter lamda] $\le$ 1"


def test_a_piecewise_formula_stays_one_piece_when_a_long_row_is_cut():
    from stepgrad.formats.latex import wrap

    cases = r"\begin{cases} a - b & \text{if } |a - b| \le 1 \\ |a - b| - \frac{1}{2} & \text{otherwise} \end{cases}"
    pieces = wrap(rf"x_{{1}} + {cases} - \left\{{ y + z \right. + w", width=12)
    assert pieces == ["x_{1}", f"+ {cases}", r"- \left\{ y + z \right. + w"]
    # a \left( .. \right) group too wide for a row is sized by hand (\bigl, \bigr) and cut inside
    pieces = wrap(r"a \left(b_{1} + b_{2} + b_{3} + b_{4} + b_{5}\right)", width=8)
    assert pieces == [r"a \bigl(b_{1} + b_{2}", "+ b_{3} + b_{4}", r"+ b_{5}\bigr)"]


# a conditional written as Python (`x if c else y`, no comma before else), Python's power, modules and
# constants, SymPy's printed names (Piecewise((x, c), (y, True)), Abs)
PYTHON = re.compile(r"\bif\b[^,]*?(?<!,) else\b|\w\)?\*\*\(?\w|\b(?:np|math|torch|sp|sympy)\.\w|\blambda\b"
                    r"|\b(?:Piecewise|Heaviside|Abs|Max|Min)\(|\b(?:True|False|None)\b")
TEXT_FORMATS = ("text", "markdown", "html", "json")


@pytest.mark.slow  # every entry in every format: make test (CI)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_no_python_and_no_wrong_character_in_the_other_formats(activation, tmp_path):
    for loss in pairs(activation):
        path = tmp_path / f"{loss}.json"
        path.write_text(json.dumps(spec(activation, loss)))
        for fmt in TEXT_FORMATS:
            output = explain_document(str(path), fmt=fmt, extras=Extras(derive=True))
            # JSON: every string a reader sees, the «slot» templates too
            lines = [ln for text in strings(json.loads(output)) for ln in text.splitlines()] if fmt == "json" \
                else output.splitlines()
            python = [ln.strip() for ln in lines if PYTHON.search(ln)]
            assert not python, f"{fmt} of {activation} with {loss}: Python in {len(python)} lines, e.g. {python[:2]}"
            wrong = [ln.strip() for ln in lines if re.search("[¿¡]", ln)]
            assert not wrong, f"{fmt} of {activation} with {loss}: {wrong[:2]}"


def strings(data: object) -> list[str]:
    """Every string in parsed JSON, keys included."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in [*strings(k), *strings(v)]]
    if isinstance(data, list):
        return [s for item in data for s in strings(item)]
    return []


def test_the_python_pattern_tells_words_from_code():
    assert PYTHON.search("out_h1 = (net_h1 if net_h1 > 0 else 0.01 * net_h1)")
    assert PYTHON.search("np.where(net > 0, net, 0.01 * net)") and PYTHON.search("x**2")
    assert PYTHON.search("Piecewise((net, net > 0), (0.01*net, True))") and PYTHON.search("Abs(out - target)")
    assert not PYTHON.search("out_h1 = (net_h1 if net_h1 > 0, else 0.01 * net_h1)")
    assert not PYTHON.search("**Inputs**") and not PYTHON.search("if you want it, else nothing")


def test_a_wide_product_breaks_between_its_factors_never_inside_one():
    """gelu_tanh's derivative: a product over a short denominator is written with the constant in front,
    and cut between its factors (each continuation starting with a dot); sums stay cut at + and -."""
    from stepgrad.formats.latex import wrap

    formula = (r"\frac{1}{2} + \frac{a_{1} \left(1 - \tanh\left(b_{1} + b_{2} + b_{3}\right)^{2}\right)"
               r" (1 + c_{1} c_{2} c_{3})}{\sqrt{\pi}} + d")
    assert wrap(formula, width=20) == [
        r"\frac{1}{2}", r"+ \frac{1}{\sqrt{\pi}} \cdot a_{1}",
        r"\cdot \left(1 - \tanh\left(b_{1} + b_{2} + b_{3}\right)^{2}\right)", r"\cdot (1 + c_{1} c_{2} c_{3})", "+ d"]
    # an explicit product is cut before its own dot, never given a second one
    pieces = wrap(r"0.35891648 \cdot 0.593256764 \cdot 0.408666186 \cdot 0.596869409", width=12)
    assert pieces == [r"0.35891648", r"\cdot 0.593256764", r"\cdot 0.408666186", r"\cdot 0.596869409"]


def test_numbers_side_by_side_get_a_multiplication_dot(tmp_path):
    """A coefficient before a quantity (0.044715 net^3) keeps its meaning once the quantity is a number."""
    import json as _json

    from stepgrad.api import explain_document

    net = {"layers": [1, 1], "activations": ["gelu_tanh"], "loss": "half_squared_error", "learning_rate": 0.5,
           "weights": [[[0.5]]], "biases": [0.1], "samples": [{"inputs": [0.3], "targets": [1.0]}]}
    (tmp_path / "net.json").write_text(_json.dumps(net))
    source = explain_document(str(tmp_path / "net.json"), fmt="latex")
    assert re.search(r"0\.044715 \\cdot 0\.25\^\{3\}", source), "0.044715 times 0.25^3"
    assert not re.search(r"\d \d", source.split(r"\begin{document}")[1])
