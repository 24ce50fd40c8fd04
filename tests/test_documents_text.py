"""Terminal text on the gallery networks at 60, 80 and 120 columns: every value of the trace is
present whole, no number or name is split, no line is wider than the terminal.

The reference is the trace's own values, formatted once (formula.number) and looked for as whole
tokens; a number split over two lines would leave pieces that are not any value of the trace.
"""

from __future__ import annotations

import re

import pytest

import stepgrad
from conftest import slow_after
from gallery import ALL, network
from stepgrad.formats import render
from stepgrad.formats.formula import derivation_rows, number, symbolic
from stepgrad.formats.text import wrap

# a number standing alone: not part of a name (w13, h1_2), a sample index ([2]) or an exponent
NUMBER = re.compile(r"(?<![\w.\[/^-])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])")


def _tokens(text: str) -> set[str]:
    return {t.strip("(),:") for t in text.split()}


def sample_tables(text: str) -> dict[str, str]:
    """A batch's other samples, as the text shows them: under "sample 2  sample 3", rows "out_o1[k]  v2  v3"
    (name -> value as printed, read as a reader would: row name, column sample)."""
    found: dict[str, str] = {}
    columns: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if words and words[0] == "sample" and len(words) % 2 == 0 and all(
                w == "sample" for w in words[0::2]):
            columns = words[1::2]
            continue
        if columns and words and "[k]" in words[0] and len(words) - 1 <= len(columns):
            for k, value in zip(columns, words[1:]):
                found[words[0].replace("[k]", f"[{k}]")] = value
        elif columns and not (words and "[k]" in words[0]):
            columns = []
    return found


def _allowed_numbers(trace, digits) -> set[str]:
    allowed = {number(v, digits) for v in trace.values.values()} | {number(v, digits) for v in trace.context.values()}
    for step in trace:  # the literals of the formulas (1, 2, 1/2)
        for expression in [symbolic(step)] + [e for e, _ in derivation_rows(step)]:
            allowed |= set(NUMBER.findall(expression))
        allowed |= {number(p.value, digits) for p in step.paths}
    return allowed | {"-" + a for a in allowed}  # a template's own minus: -target_o1 = -0


@pytest.fixture(scope="module")
def traces():
    return {key: stepgrad.explain(network(key)) for key in ALL}


@pytest.mark.parametrize("width", slow_after(1, [60, 80, 120]))
@pytest.mark.parametrize("key", ALL)
def test_every_value_whole(traces, key, width):
    trace = traces[key]
    out = render(trace, "text", width=width)
    assert max(len(line) for line in out.splitlines()) <= width
    tokens = _tokens(out)
    tabled = sample_tables(out)
    missing = [s.name for s in trace if (s.name not in tokens or number(s.value) not in tokens)
               and tabled.get(s.name) != number(s.value)]
    assert not missing, f"{len(missing)} quantities not shown whole, e.g. {missing[:5]}"
    equations = "\n".join(re.sub(r"^sample \d+", "", line) for line in out.splitlines()
                          if "=" in line and "paths to" not in line)  # not prose, not a row label
    stray = set(NUMBER.findall(equations)) - _allowed_numbers(trace, 9)
    assert not stray, f"pieces of numbers (split values?): {sorted(stray)[:10]}"


@pytest.mark.parametrize("width", [60, 80])
def test_derivation_rules_not_cut(width):
    """explain --derive: each rule in parentheses sits whole on its line(s), never cut mid-word."""
    from stepgrad.tracing.derive import derive

    trace = derive(stepgrad.explain(stepgrad.builtin()))
    out = render(trace, "text", width=width)
    words = set(out.split())
    for step in trace:
        for _expression, rule in derivation_rows(step):
            assert all(w in words or f"({w}" in words or f"{w})" in words or f"({w})" in words
                       for w in rule.split()), rule


def test_continuation_under_the_equals_sign():
    trace = stepgrad.explain(network("16-16-10"))
    lines = render(trace, "text", width=80).splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("net_o1 = "))
    column = lines[start].index("=")
    following = lines[start + 1:start + 6]
    assert all(line[:column + 1].strip() in ("", "=") for line in following)
    assert any(line[column] == "=" for line in following)


def test_wrap_breaks_a_sum_between_terms():
    sentence = "0.25 * 0.5 + 0.125 * 0.75 + 0.5 * 0.5 = 0.59375"
    words = [(w, "") for w in sentence.split(" ")]
    lines = wrap(words, "x = ", 8, 30)
    assert [" ".join(w for w, _ in line) for line in lines] == [
        "0.25 * 0.5 + 0.125 * 0.75", "+ 0.5 * 0.5 = 0.59375"]
