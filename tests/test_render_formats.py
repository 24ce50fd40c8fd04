"""Every format carries every value of the trace: each output is parsed back (symbol -> number) and
compared with the trace's values at the requested digits, and with the seed deck's published figures.

The parsers here read the output as a reader would (the LaTeX of Markdown/LaTeX/Beamer, the MathML
annotations of HTML); they share nothing with the renderers but the naming contract.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

import stepgrad
from stepgrad.core.names import latex_symbol
from stepgrad.formats import render

MATHML = "{http://www.w3.org/1998/Math/MathML}"
TABLE = re.compile(r"\\begin\{(tabular|longtable|array)\}(.*?)\\end\{\1\}", re.S)
BOLD = (r"\boldsymbol{", r"\mathbf{")  # the result of a line, bold with its sign
ALIGN = re.compile(r"\\begin\{(align\*|aligned)\}(.*?)\\end\{\1\}", re.S)

# the seed deck's figures (typed in from the deck), 9 significant digits
DECK = {"net_h1": "0.3775", "out_h1": "0.593269992", "out_o1": "0.75136507", "E_total": "0.298371109",
        "dE_total/dw5": "0.082167041", "w5+": "0.35891648", "w6+": "0.408666186", "w7+": "0.511301270",
        "w8+": "0.561370121", "w1+": "0.149780716", "w2+": "0.19956143", "w3+": "0.24975114", "w4+": "0.29950229"}


def latex_number(text: str) -> float:
    """'3.51 \\times 10^{-5}', '(-0.25)', '\\mathbf{0.4}' -> float."""
    text = text.strip()
    for bold in BOLD:
        if text.startswith(bold):
            text = text[len(bold):-1]
    text = text.strip().strip("()")
    m = re.fullmatch(r"(-?[\d.]+)(?: \\times 10\^\{(-?\d+)\})?", text.replace("−", "-"))
    assert m, f"not a number: {text!r}"
    return float(m.group(1) + (f"e{m.group(2)}" if m.group(2) else ""))


def _last_bold(chunk: str) -> str:
    bold = max(BOLD, key=chunk.rfind)
    start = chunk.rindex(bold) + len(bold)
    depth, i = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(chunk[i], 0)
        i += 1
    return chunk[start:i - 1]


def _clean_lhs(lhs: str) -> str:
    return re.sub(r"\\text\{[^}]*\}", "", lhs).strip()


def latex_values(source: str) -> dict[str, float]:
    """symbol -> value from every align*/aligned block (and Markdown's $$a = b$$ and table rows)."""
    found: dict[str, float] = {}
    for _, block in ALIGN.findall(source):
        for chunk in re.split(r"\\\\\[2pt\]", block):
            if any(bold in chunk for bold in BOLD):
                found[_clean_lhs(chunk.split("&=")[0])] = latex_number(_last_bold(chunk))
                continue
            for row in chunk.split("\\\\"):
                cells = row.split("&")
                for lhs, rhs in zip(cells[0::2], cells[1::2]):
                    if rhs.strip().startswith("=") and "\\cdot" not in lhs:
                        found[_clean_lhs(lhs)] = latex_number(rhs.strip()[1:])
    for lhs, rhs in re.findall(r"^\$\$([^$\n]+?) = ([^$\n=]+)\$\$$", source, re.M):
        found[lhs.strip()] = latex_number(rhs)
    tables = [body for _, body in TABLE.findall(source)] + re.findall(r"^\|.*\|$", source, re.M)
    for table in tables:  # given values in tables (LaTeX, Markdown): cells $symbol = value$
        for lhs, rhs in re.findall(r"\$([^$|]+?) = ([^$|=]+)\$", table):
            found[lhs.strip()] = latex_number(rhs)
    found.update(sample_table_values(source))
    return found


def sample_table_values(source: str) -> dict[str, float]:
    """A batch's other samples as a table: a row per quantity (symbol^{[k]}), a column per sample k."""
    found: dict[str, float] = {}
    rows = [r for _, body in TABLE.findall(source) for r in body.split("\n")] + re.findall(r"^\|.*\|$", source, re.M)
    columns: list[str] = []
    for row in rows:
        cells = [c.strip().strip("$").strip() for c in re.split(r"&|\|", row.replace(r"\\", "").replace(r"\hline", ""))]
        heads = [re.fullmatch(r"\\text\{sample (\d+)\}", c) for c in cells]
        if any(heads):
            columns = [h.group(1) if h else "" for h in heads]
            continue
        label = next((c for c in cells if "{[k]}" in c), None)
        if label is None or not columns:
            continue
        for k, value in zip(columns, cells):
            if k and value:
                found[label.replace("{[k]}", f"{{[{k}]}}")] = latex_number(value)
    return found


def html_values(page: str) -> dict[str, float]:
    """data-name -> value: the '= value' of the element's value cell (its MathML annotation)."""
    root = ET.fromstring(page.removeprefix("<!DOCTYPE html>"))
    found = {}
    for element in root.iter():
        name = element.get("data-name")
        if not name or not (element.get("id") or "").startswith("step-"):
            continue
        values = [d for d in element if "value" in (d.get("class") or "").split()] or [element]
        annotations = [a.text for a in values[-1].iter(f"{MATHML}annotation")]
        found[name] = latex_number(annotations[-1].rsplit("=", 1)[-1])  # a table cell may hold the value alone
    return found


def rounded(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}")


def _flat(symbol: str) -> str:
    """A symbol however it is typeset: \\frac{a}{b} and a/b (a table's one-line form) read the same."""
    return re.sub(r"\\frac|[{}()/ ]", "", symbol)


def check_all_values(trace, found: dict[str, float], digits: int, key=latex_symbol) -> None:
    found = {**found, **{_flat(k): v for k, v in found.items()}}
    missing = [s.name for s in trace if _flat(key(s.name)) not in found]
    assert not missing, f"not in the output: {missing[:5]}"
    wrong = [(s.name, found[_flat(key(s.name))], s.value) for s in trace
             if found[_flat(key(s.name))] != rounded(s.value, digits)]
    assert not wrong, wrong[:5]


def two_samples() -> stepgrad.Network:
    return stepgrad.Network.from_dict({
        "layers": [2, 3, 2], "activations": ["tanh", "sigmoid"], "learning_rate": 0.3,
        "weights": [[[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]], [[0.7, -0.8, 0.9], [-0.15, 0.25, 3.51e-05]]],
        "biases": [[0.1, -0.1, 0.2], 0.5],
        "samples": [{"inputs": [0.05, 0.1], "targets": [0.01, 0.99]}, {"inputs": [-1.5, 2.0], "targets": [1, 0]}]})


PARSERS = {"markdown": latex_values, "latex": latex_values, "slides": latex_values}


@pytest.mark.parametrize("fmt", ["markdown", "latex", "slides", "html"])
@pytest.mark.parametrize("digits", [9, 4])
def test_every_value_of_the_seed_trace(fmt, digits):
    trace = stepgrad.explain(stepgrad.builtin())
    out = render(trace, fmt, digits=digits)
    if fmt == "html":
        check_all_values(trace, html_values(out), digits, key=lambda n: n)
    else:
        check_all_values(trace, latex_values(out), digits)


@pytest.mark.parametrize("fmt", ["markdown", "latex", "slides", "html"])
def test_the_deck_figures_appear(fmt):
    trace = stepgrad.explain(stepgrad.builtin())
    out = render(trace, fmt, digits=9)
    found = html_values(out) if fmt == "html" else {k: v for k, v in latex_values(out).items()}
    for name, published in DECK.items():
        key = name if fmt == "html" else latex_symbol(name)
        shown = len(published.replace(".", "").lstrip("0"))  # the deck's significant digits
        assert rounded(found[key], shown) == float(published), name


@pytest.mark.parametrize("fmt", ["markdown", "latex", "slides", "html"])
def test_every_value_of_a_two_sample_tanh_network(fmt):
    trace = stepgrad.explain(two_samples())
    out = render(trace, fmt, digits=6)
    found = html_values(out) if fmt == "html" else latex_values(out)
    check_all_values(trace, found, 6, key=(lambda n: n) if fmt == "html" else latex_symbol)


@pytest.mark.parametrize("fmt", ["markdown", "latex", "slides"])
def test_small_numbers_are_powers_of_ten_and_negatives_are_bracketed(fmt):
    out = render(stepgrad.explain(two_samples()), fmt, digits=3)
    assert r"3.51 \times 10^{-5}" in out
    assert not re.search(r"\de-\d", out), "a Python exponent left in the output"
    # a negative weight substituted into a formula is in parentheses: w_{1,?} -0.2 never follows a \cdot bare
    assert r"\cdot -" not in out and "+ -" not in out and "- -" not in out
    assert "(-0.2)" in out


def test_markdown_escapes_text_and_keeps_math():
    out = render(stepgrad.explain(stepgrad.builtin()), "markdown")
    assert out.startswith("# Step by step backpropagation")
    assert "## Backward pass: output layer (w5..w8)" in out
    assert out.count("$$") % 2 == 0


@pytest.mark.parametrize("fmt", ["markdown", "latex", "slides", "html"])
def test_only_and_digits_from_the_cli(cli, fmt):
    result = cli("explain", "--format", fmt, "--only", "w5,out_h1", "--digits", "4", "--train-iterations", "0")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    found = html_values(out) if fmt == "html" else latex_values(out)
    key = (lambda n: n) if fmt == "html" else latex_symbol
    assert found[key("w5+")] == 0.3589 and found[key("dE_total/dw5")] == 0.08217
    assert found[key("out_h1")] == 0.5933
    assert key("w1+") not in found and key("dE_total/dw1") not in found  # not selected
    full = stepgrad.explain(stepgrad.builtin()).select(["w5", "out_h1"])
    check_all_values(full, found, 4, key=key)
