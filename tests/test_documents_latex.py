"""Slides and the LaTeX article on the gallery networks, built as documented (pdflatex twice): they
compile, the PDF's text holds every value of the trace the format promises, no box is overfull by more
than 2pt (a frame that runs off the bottom is an overfull \\vbox), and the page counter is right.

The reference is the trace's values; the PDF is read back with pdftotext, as a reader would copy it.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from tests.conftest import require_tool

import stepgrad
from gallery import ALL, network
from stepgrad.core.names import parse
from stepgrad.formats import render
from stepgrad.formats.formula import number
from stepgrad.formats.slides import SUMMARY_WEIGHTS, weight_count

pytestmark = pytest.mark.latex

OVERFULL = re.compile(r"Overfull \\[hv]box \((\d+(?:\.\d+)?)pt too (?:wide|high)\)")
# a number as pdftotext gives it: −0.25, 3.51 × 10−5
PDF_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?: × 10-?\d+)?")


def build(source: str, tmp_path, artifacts, name: str) -> tuple[str, str]:
    """The documented build, pdflatex twice; returns (log of the second run, text of the PDF)."""
    pdflatex = require_tool("pdflatex")
    pdftotext = require_tool("pdftotext")
    (tmp_path / f"{name}.tex").write_text(source)
    for _ in range(2):
        result = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
                                cwd=tmp_path, capture_output=True, text=True, timeout=300)
        log = (tmp_path / f"{name}.log").read_text(errors="replace")
        assert result.returncode == 0, log[-3000:]
    shutil.copy(tmp_path / f"{name}.pdf", artifacts / f"{name}.pdf")
    text = subprocess.run([pdftotext, f"{name}.pdf", "-"], cwd=tmp_path, capture_output=True, text=True,
                          check=True).stdout
    return log, text


def pdf_numbers(text: str) -> set[float]:
    """Every number in the PDF's text, as a float."""
    text = text.replace("−", "-").replace("(", " ").replace(")", " ")
    found = set()
    for m in PDF_NUMBER.findall(text):
        mantissa, _, exponent = m.partition(" × 10")
        found.add(float(mantissa + (f"e{exponent}" if exponent else "")))
    return found


def missing_values(trace, text: str, digits: int = 9, promised=lambda name: True) -> list[str]:
    shown = pdf_numbers(text)
    return [s.name for s in trace if promised(s.name) and float(number(s.value, digits)) not in shown]


def summary_promise(name: str) -> bool:
    """A summary deck promises every value but each output's share of a hidden neuron's dE/dout
    (dE_o1/dout_h1, which it says it leaves out: their sum is in the table)."""
    n = parse(name)
    return not (n.top is not None and n.top.kind == "error" and n.top.neuron and n.bottom.kind == "out")


def overfull(log: str) -> list[float]:
    return [float(x) for x in OVERFULL.findall(log) if float(x) > 2]


@pytest.mark.slow
@pytest.mark.parametrize("key", ALL)
def test_article(key, tmp_path, artifacts):
    trace = stepgrad.explain(network(key))
    log, text = build(render(trace, "latex"), tmp_path, artifacts, f"article-{key.split()[0]}")
    assert not overfull(log), overfull(log)
    missing = missing_values(trace, text)
    assert not missing, f"{len(missing)} values not in the PDF, e.g. {missing[:5]}"
    assert r"\begin{tikzpicture}" in render(trace, "latex")


@pytest.mark.slow
@pytest.mark.parametrize("key", ALL)
def test_slides(key, tmp_path, artifacts):
    trace = stepgrad.explain(network(key))
    source = render(trace, "slides")
    log, text = build(source, tmp_path, artifacts, f"slides-{key.split()[0]}")
    assert not overfull(log), overfull(log)
    summary = weight_count(trace) > SUMMARY_WEIGHTS
    missing = missing_values(trace, text, promised=summary_promise if summary else lambda name: True)
    assert not missing, f"{len(missing)} values not in the PDF, e.g. {missing[:5]}"
    frames = source.count(r"\begin{frame}")
    assert f"{frames} / {frames}" in text  # the page counter after the documented two runs
    assert "(continued)" not in text and "hidden layer 0" not in text
    titles = re.findall(r"\\frametitle\{(.*)\}", source)
    assert len(titles) == len(set(titles)), "two frames with the same title"
    if summary:
        assert frames <= 120
        assert "What these slides leave out" in text and "--only" in text and "--all" in text


def test_full_slides_of_a_large_network_have_every_derivation():
    trace = stepgrad.explain(network("8-6-4"))
    summary, full = render(trace, "slides"), render(trace, "slides", full=True)
    assert "What these slides leave out" in summary and "What these slides leave out" not in full
    assert "The gradient of $w_{1}$}" in full or "The gradient of $w_{1}$ (1/" in full
