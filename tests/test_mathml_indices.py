"""The MathML of a piece converted once per shape (w_{1} for w_{1} ... w_{416}) equals latex2mathml's own
conversion of each piece, for every formula of the gallery's traces and every matrix name."""

from __future__ import annotations

import pytest
from latex2mathml.converter import convert
from tests.gallery import SMALL, network

from stepgrad.core.names import latex_symbol
from stepgrad.formats import mathml
from stepgrad.formats.formula import substituted, symbolic
from stepgrad.tracing.build import explain
from stepgrad.tracing.matrix import matrix_view


def direct(latex: str) -> str:
    """latex2mathml alone, spaced as the project spaces it: the reference."""
    converted = convert(latex)
    return mathml._spaced(converted[converted.index(">") + 1:converted.rindex("</math>")])


def pieces(key: str) -> set[str]:
    trace = explain(network(key))
    latex = {latex_symbol(n) for m in matrix_view(trace).matrices() for row in m.names for n in row}
    for sec in trace.sections:
        for step in sec.steps:
            latex.add(latex_symbol(step.name))
            if step.latex:
                latex.add(symbolic(step, "latex"))
                latex.add(substituted(step, trace, 9, "latex"))
    return {p.strip() for text in latex for p in mathml._split(text) if p.strip() and p not in mathml._OPERATORS}


@pytest.mark.parametrize("key", [*SMALL, pytest.param("16-16-10", marks=pytest.mark.slow)])
def test_each_piece_as_latex2mathml_converts_it(key: str) -> None:
    mathml._piece.cache_clear()
    found = sorted(pieces(key))
    assert any("_{2" in p for p in found) and len(found) > 20
    for latex in found:
        assert mathml._piece(latex) == direct(latex), latex


def test_a_digit_outside_an_index_group_is_converted_whole() -> None:
    for latex in (r"x_1 + {2}", r"\frac{1}{2}", r"10^{5}", r"w_{12}^{+}", r"a_{0} - {3}"):
        assert mathml._piece(latex) == direct(latex), latex
