"""The checker names a copying slip only where one reproduces the answer and honest rounding cannot.

On the deck's own transcription, net_o2 and dE_total/dw2 are close to the exact values but not rounding:
each is reproduced here, by hand, from one operand copied with a slip (the slides show the slipped
operands). A student who rounds honestly, on every gallery network, at any precision, is never told of
a slip they did not make.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from tests.conftest import QUICK  # noqa: E402
from tests.gallery import SMALL, network  # noqa: E402

import stepgrad  # noqa: E402
from stepgrad.teach.check import check, solution  # noqa: E402
from stepgrad.teach.check.context import build  # noqa: E402
from stepgrad.teach.deck_figures import transcription  # noqa: E402

EXAMPLES = settings(max_examples=8 if QUICK else 40, deadline=None, phases=[Phase.explicit, Phase.generate])


def reproduces(value: float, figure: str) -> bool:
    """`figure` is `value` rounded (half up) or truncated to the figure's decimals."""
    quantum = Decimal(1).scaleb(Decimal(figure).as_tuple().exponent)
    shown = Decimal(repr(value))
    return Decimal(figure) in (shown.quantize(quantum, ROUND_HALF_UP), shown.quantize(quantum, ROUND_DOWN))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@pytest.fixture(scope="module")
def deck():
    return {r.name: r for r in check(stepgrad.builtin(), transcription()).results}


def test_net_o2_is_a_dropped_digit_not_rounding(deck):
    out_h1 = sigmoid(0.15 * 0.05 + 0.2 * 0.1 + 0.35)  # by hand, not by stepgrad
    out_h2 = sigmoid(0.25 * 0.05 + 0.3 * 0.1 + 0.35)
    assert not reproduces(0.5 * 0.593269992 + 0.55 * 0.596884378 + 0.6, "1.22492136")  # the deck's own figures
    assert not reproduces(0.5 * out_h1 + 0.55 * out_h2 + 0.6, "1.22492136")
    assert reproduces(0.5 * 0.59326992 + 0.55 * 0.596884378 + 0.6, "1.22492136")  # out_h1 with its 9 dropped
    r = deck["net_o2"]
    assert (r.verdict, r.mistake) == ("close", "slip_digit_dropped")
    assert "out_h1 copied as 0.59326992" in r.diagnosis and "not rounding" in r.diagnosis


def test_dw2_is_two_swapped_digits_not_rounding(deck):
    assert not reproduces(0.036350306 * 0.241300709 * 0.1, "0.000877131")
    assert reproduces(0.03635013 * 0.241300709 * 0.1, "0.000877131")  # 0.03635031 with its 3 and 1 swapped
    r = deck["dE_total/dw2"]
    assert (r.verdict, r.mistake) == ("close", "slip_digits_swapped")
    assert "dE_total/dout_h1 copied as 0.03635013" in r.diagnosis


def test_the_deck_rounding_and_the_unexplained_keep_their_notes(deck):
    # -0.02260253 is rounding (of the operands as the deck substitutes them); 0.041369954 is explained by nothing
    for name in ("dE_total/dw7", "dE_total/dout_h2"):
        assert (deck[name].verdict, deck[name].mistake, deck[name].diagnosis) == ("close", None, None), name


def _swap(text: str) -> str:
    """`text` with its first two different adjacent digits from the third significant digit on swapped."""
    first = next(i for i, c in enumerate(text) if c not in "-0.")
    spots = [i for i in range(first, len(text)) if text[i] != "."][2:]
    i = next(i for i, j in zip(spots, spots[1:]) if j == i + 1 and text[i] != text[j])
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]


@pytest.mark.parametrize("key", [k for k in SMALL if k != "deck"])
def test_a_swap_in_a_students_factor_is_named(key):
    """A gradient by the chain rule, its factors written right and the product taken with the first factor
    copied with two digits swapped (by hand, in floats): the checker names that factor and that copy."""
    net = network(key)
    trace = stepgrad.explain(net)
    step = next(s for s in trace if s.name.startswith("dE") and "/dw" in s.name and len(s.operands) >= 2 and s.value
                and s.text == " * ".join(f"«{op}»" for op in s.operands))  # a product of factors, nothing else
    factors = [f"{trace.values[op]:.8f}" for op in step.operands]
    copied = _swap(factors[0])
    product = math.prod(float(f) for f in [copied, *factors[1:]])
    lines = [f"{op} = {text}" for op, text in zip(step.operands, factors)] + [f"{step.name} = {product:.8f}"]
    r = next(r for r in check(net, solution.loads("\n".join(lines))).results if r.name == step.name)
    assert r.verdict in ("close", "wrong") and r.mistake == "slip_digits_swapped", r
    assert f"{step.operands[0]} copied as {copied}" in r.diagnosis


def _honest(net, carried: int, written_extra: list[int], keep: list[bool]) -> str:
    """A student's sheet: every step computed on their values carried to `carried` decimals, written with
    a few more (or as many) decimals; only the names `keep` marks are written."""
    hand = stepgrad.explain(net, round_to=carried)
    ctx = build(net, solution.loads(""))
    carried_values = hand.values
    lines = []
    for n, s in enumerate(s for s in hand if s.text):
        if not keep[n % len(keep)]:
            continue
        value = ctx.recompute(ctx.steps[s.name], carried_values) if ctx.steps[s.name].text else s.value
        places = carried + written_extra[n % len(written_extra)]
        lines.append(f"{s.name} = {Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)}")
    return "\n".join(lines)


@EXAMPLES
@given(st.sampled_from(SMALL), st.integers(3, 8), st.lists(st.integers(0, 3), min_size=1, max_size=5),
       st.lists(st.booleans(), min_size=1, max_size=7))
def test_honest_rounding_is_never_a_slip(key, carried, extra, keep):
    net = network(key)
    text = _honest(net, carried, extra, keep)
    marked = check(net, solution.loads(text), round_to=None)
    invented = [(r.name, r.given, r.diagnosis) for r in marked.results if (r.mistake or "").startswith("slip_")]
    assert not invented


@EXAMPLES
@given(st.sampled_from(SMALL), st.lists(st.integers(3, 9), min_size=1, max_size=6), st.booleans())
def test_the_exact_values_rounded_are_correct(key, places, truncate):
    net = network(key)
    mode = ROUND_DOWN if truncate else ROUND_HALF_UP
    lines = [f"{s.name} = {Decimal(repr(s.value)).quantize(Decimal(1).scaleb(-places[n % len(places)]), mode)}"
             for n, s in enumerate(s for s in stepgrad.explain(net) if s.text)]
    marked = check(net, solution.loads("\n".join(lines)))
    slipped = [r for r in marked.results if (r.mistake or "").startswith("slip_")]
    assert not slipped
    assert all(r.verdict in ("correct", "close") for r in marked.results)
