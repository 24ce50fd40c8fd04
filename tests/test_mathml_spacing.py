"""MathML spaced as a typesetter would: a sign is part of its number, ln and exp are applied functions."""

from __future__ import annotations

import stepgrad
from stepgrad.formats.mathml import to_mathml


def test_a_parenthesized_negative_is_a_signed_number_not_a_subtraction():
    math = to_mathml(r"(-0.0190491183) \cdot 2 - 3")
    assert '&#x00028;</mo><mn>&#x02212;0.0190491183</mn>' in math
    assert "<mo>&#x02212;</mo><mrow><mn>3</mn>" in math  # a subtraction stays an operator


def test_ln_and_exp_are_functions_applied_to_their_argument():
    math = to_mathml(r"-1 \ln 0.575266057")
    assert '<mn>&#x02212;1</mn><mspace width="0.1667em"/><mi>ln</mi><mo>&#x2061;</mo><mspace width="0.1667em"/><mn>0.575266057</mn>' in math
    assert '<mi>exp</mi><mo>&#x2061;</mo><mo stretchy="false">&#x00028;' in to_mathml(r"\exp(x)")


def test_the_cross_entropy_step_of_the_gallery_reads_ln_as_a_function():
    from tests.gallery import network

    trace = stepgrad.explain(network("3-4-2 tanh/softmax CE, 2 samples"))
    from stepgrad.web.present import sections_view

    views = [s for sec in sections_view(trace, 9, True) for s in sec["steps"] if r"\ln" in s.get("substituted", "")]
    assert views, "the cross-entropy error should show a logarithm"
    for view in views:
        assert "<mi>ln</mi><mo>&#x2061;</mo>" in view["substituted"]
        assert "<mn>1</mn><mi>ln</mi>" not in view["substituted"]
