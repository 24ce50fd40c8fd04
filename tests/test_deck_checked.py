"""The deck's figures beside ours: every correct figure digit for digit at 9 decimals, every slip explained.

The figures below are typed by hand from the seed deck (shared/seed/step-by-step-backpropagation.txt),
independently of the bundled transcription the checker reads.
"""

from __future__ import annotations

import pytest

import stepgrad
from stepgrad.core.names import is_name
from stepgrad.formats import render
from stepgrad.formats.formula import Decimals, number
from stepgrad.teach.deck_figures import annotate, slips
from stepgrad.tracing.group import group

# As printed on the slides (line numbers of the seed text), where the figure is right.
DECK_CORRECT = {
    "out_h1": "0.593269992", "out_h2": "0.596884378", "net_o1": "1.105905967", "out_o1": "0.75136507",
    "out_o2": "0.772928465", "E_o1": "0.274811083", "E_o2": "0.023560026", "E_total": "0.298371109",
    "dE_total/dout_o1": "0.74136507", "dout_o1/dnet_o1": "0.186815602", "dE_total/dw5": "0.082167041",
    "w5+": "0.35891648", "dE_total/dw6": "0.08266762", "w6+": "0.408666186", "dout_o2/dnet_o2": "0.17551005",
    "w7+": "0.51130127", "dE_total/dw8": "-0.02274024", "w8+": "0.56137012", "dE_o1/dnet_o1": "0.138498562",
    "dE_o1/dout_h1": "0.055399425", "dE_o2/dnet_o2": "-0.03809823", "dE_o2/dout_h1": "-0.01904911",
    "dE_total/dout_h1": "0.036350306", "dout_h1/dnet_h1": "0.241300709", "dE_total/dw1": "0.000438568",
    "w1+": "0.149780716", "w2+": "0.19956143",
}
# Right, but printed with fewer decimals than the deck's usual 9: (figure, decimals).
DECK_SHORTER = {"w4+": ("0.29950229", 8)}
# The deck's slips, by the verdict `stepgrad check` gives them as it would a student's (their causes, found by
# redoing the deck's arithmetic, are tested in test_deck_report.py).
DECK_SLIPS = {
    "net_o2": "close",              # 1.22492136: computed from out_h1 copied as 0.59326992
    "dE_total/dout_o2": "wrong",    # -21707153: the "0." dropped
    "dE_total/dw7": "close",        # -0.02260253: rounded factors
    "dE_total/dout_h2": "close",    # 0.041369954: rounded factors
    "dE_total/dw2": "close",        # 0.000877131: a mis-copied factor
    "dE_total/dw3": "wrong",        # 0.00043856: copied from w1
    "dE_total/dw4": "follows",      # 0.00099541: from the rounded dE_total/dout_h2
    "w3+": "follows",               # 0.24978: follows the wrong dE_total/dw3
    "E_total+": "wrong",            # 0.291027924: the sequential order's figure
}


def test_every_correct_figure_of_the_deck_appears_digit_for_digit():
    text = render(group(stepgrad.explain(stepgrad.builtin()), "weight"), "text", digits=Decimals(9), width=200)
    for name, figure in DECK_CORRECT.items():
        assert f"= {figure}" in text, (name, figure)
    values = stepgrad.explain(stepgrad.builtin()).values
    for name, (figure, places) in DECK_SHORTER.items():
        assert number(values[name], Decimals(places)) == figure


def test_the_checked_table_lists_exactly_the_deck_slips_with_reasons():
    rows = slips()
    assert {r.name: r.verdict for r in rows} == DECK_SLIPS
    reasons = {r.name: r.reason for r in rows}
    assert "sequential" in reasons["E_total+"]
    assert "decimal point" in reasons["dE_total/dout_o2"]
    assert "dE_total/dw1" in reasons["dE_total/dw3"]
    assert "dE_total/dw3" in reasons["w3+"]
    exact = stepgrad.explain(stepgrad.builtin()).values
    for r in rows:
        assert r.exact == exact[r.name]


def test_annotate_puts_the_printed_figure_beside_each_quantity():
    trace = annotate(stepgrad.explain(stepgrad.builtin()))
    note = trace.step("dE_total/dout_o2").note
    assert note.startswith("the deck prints -21707153: -0.21707153, ") and "without its decimal point" in note
    assert 'writes "dE_o2/dout_o1" for "dE_o2/dout_o2"' in note and "line 481" in note  # and its label slip
    assert "sequential update order's value" in trace.step("E_total+").note
    assert trace.meta["deck"]["figures"][0]["cause"] == "digit dropped"
    assert trace.sections[-1].key == "deck"
    assert trace.step("out_h1").note == "the deck prints 0.593269992"


@pytest.mark.parametrize("value, places, shown", [
    (0.3775, 9, "0.3775"), (1.1059059670, 9, "1.105905967"), (-0.02260254048, 9, "-0.02260254"),
    (0.358916479717, 9, "0.35891648"), (3.51018778e-05, 9, "0.000035102"), (3.5e-08, 9, "3.5e-08"),
    (0.0, 9, "0"), (-1e-12, 4, "-1e-12"), (2.5, 0, "2"), (12345.678, 2, "12345.68"),
])
def test_decimals_as_the_deck_prints_them(value, places, shown):
    assert number(value, Decimals(places)) == shown


def test_the_main_job_tells_the_deck_as_the_deck_does():
    import os
    import subprocess
    import sys

    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    out = subprocess.run([sys.executable, "-m", "stepgrad"], capture_output=True, text=True, env=env,
                         timeout=300).stdout
    for name, figure in DECK_CORRECT.items():  # every correct figure, digit for digit
        assert f"= {figure}" in out, (name, figure)
    # one weight at a time: w5's story (its derivation, its gradient, its new value) before w6's
    assert out.index("The w5 change") < out.index("w5+ = ") < out.index("The w6 change") < out.index("The w1 change")
    assert "2 * 1/2 * (target_o1 - out_o1)^(2-1) * (-1) + 0" in out  # derived as on the slides
    table = out[out.index("The deck's figures, checked"):out.index("The deck's labels, checked")]
    rows = {line.split()[0] for line in table.splitlines()[2:] if line and not line.startswith(" ")}
    assert {r for r in rows if is_name(r)} == set(DECK_SLIPS)
    assert "0.015912196" in out and "0.984065734" in out  # the deck's table after 10,000 iterations
