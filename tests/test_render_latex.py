"""The LaTeX article and the Beamer deck compile with pdflatex as they are, for the seed network,
a two-sample tanh network, Adam's update and text full of LaTeX's special characters. The PDFs
are kept in the test artifacts."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from tests.conftest import require_tool
from tests.test_render_formats import latex_values, two_samples

import stepgrad
from stepgrad.core.trace import Trace
from stepgrad.formats import render
from stepgrad.formats.latex import escape
from stepgrad.training.loop import train

pytestmark = pytest.mark.latex

SPECIAL = r"50% of $x & y_1 #2 ~ ^ {braces} \backslash"


def compile_pdf(source: str, tmp_path, artifacts, name: str) -> str:
    """Run pdflatex on `source`; return the log. Fails the test on any error."""
    pdflatex = require_tool("pdflatex")
    tex = tmp_path / f"{name}.tex"
    tex.write_text(source)
    result = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                            capture_output=True, text=True, timeout=180)
    log = (tmp_path / f"{name}.log").read_text(errors="replace")
    assert result.returncode == 0, log[-3000:]
    shutil.copy(tmp_path / f"{name}.pdf", artifacts / f"{name}.pdf")
    return log


def special_trace() -> Trace:
    """The seed trace with LaTeX's special characters in its name, a title and a note."""
    data = stepgrad.explain(stepgrad.builtin()).to_dict()
    data["meta"]["name"] = SPECIAL
    data["sections"][1]["title"] = "Forward & back: 100% " + SPECIAL
    data["sections"][1]["steps"][0]["note"] = SPECIAL
    return Trace.from_dict(data)


def test_escape_covers_the_special_characters():
    assert escape("dE_total/dw5 & 50% #1 $x$ ~^{}\\") == (
        r"dE\_total/dw5 \& 50\% \#1 \$x\$ \~{}\^{}\{\}\textbackslash{}")


def test_article_compiles(tmp_path, artifacts):
    source = render(stepgrad.explain(stepgrad.builtin()), "latex")
    assert source.startswith(r"\documentclass") and r"\usepackage{amsmath" in source
    log = compile_pdf(source, tmp_path, artifacts, "explain-article")
    assert "Output written" in log


def test_article_with_special_text_two_samples_and_adam_compiles(tmp_path, artifacts):
    compile_pdf(render(special_trace(), "latex"), tmp_path, artifacts, "explain-special")
    compile_pdf(render(stepgrad.explain(two_samples()), "latex", digits=4), tmp_path, artifacts, "explain-two-samples")
    adam = stepgrad.explain(stepgrad.builtin(), update_order="synchronous", optimizer="adam")
    compile_pdf(render(adam, "latex"), tmp_path, artifacts, "explain-adam")


def test_deck_compiles_with_the_training_table(tmp_path, artifacts):
    net = stepgrad.builtin()
    history = train(net, 10_000, update_order="sequential", every=1000)
    source = render(stepgrad.explain(net), "slides", history=history)
    log = compile_pdf(source, tmp_path, artifacts, "explain-deck")
    frames = source.count(r"\begin{frame}")
    assert frames >= 20  # title, network, given, forward, error, every weight, update, after, table
    assert "Our neural network" in source and r"\begin{tikzpicture}" in source
    assert "After 10,000 iterations" in source
    # the deck's table after 10,000 iterations (sequential order): o1 = 0.015912196, o2 = 0.984065734
    values = latex_values(source)
    assert r"$o_{1} = 0.0159121963$" in source and r"$o_{2} = 0.984065734$" in source
    assert values[r"E_{\mathrm{total}}^{+}"] == 0.291027774
    assert f"({frames} pages" in log or "Output written" in log


def test_deck_frames_one_group_per_weight():
    source = render(stepgrad.explain(stepgrad.builtin()), "slides")
    for w in range(1, 9):
        assert f"The gradient of $w_{{{w}}}$" in source  # names in titles are math
    assert "After 10,000" not in source  # no history given, no table


def test_deck_with_special_text_and_two_samples_compiles(tmp_path, artifacts):
    compile_pdf(render(special_trace(), "slides"), tmp_path, artifacts, "explain-deck-special")
    compile_pdf(render(stepgrad.explain(two_samples()), "slides", digits=5), tmp_path, artifacts,
                "explain-deck-two-samples")


def test_explain_slides_cli_compiles(cli, tmp_path, artifacts):
    out = tmp_path / "deck.tex"
    result = cli("explain", "--format", "slides", "--only", "w1", "--digits", "5", "-o", str(out))
    assert result.returncode == 0, result.stderr
    compile_pdf(out.read_text(), tmp_path, artifacts, "explain-deck-only-w1")


def test_long_sums_of_a_wide_network_fit_the_page(tmp_path, artifacts):
    net = stepgrad.Network.from_dict({"layers": [24, 3, 10], "seed": 5,
                                      "samples": [{"inputs": [-0.123456789] * 24, "targets": [0] * 9 + [1]}]})
    trace = stepgrad.explain(net).select(["w1"])
    for fmt in ("latex", "slides"):
        log = compile_pdf(render(trace, fmt), tmp_path, artifacts, f"explain-wide-{fmt}")
        assert "Overfull \\hbox" not in log, fmt
