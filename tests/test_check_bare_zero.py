"""A bare 0 written for a number that is not zero: read at the precision the student writes elsewhere.

"0" on a sheet of four-decimal answers stands for 0.0000 (a value rounded away: close, write more digits)
and is wrong for anything that does not round to zero at four decimals (out_o1 = 0 for the deck's
0.75136507). A sheet of nothing but zeros never passes. The expected values are the deck's published
figures (../shared/seed: out_o1 = 0.75136507, dE_total/dw5 = 0.082167041, dE_total/dw1 = 0.000438568).
"""

from __future__ import annotations

import pytest

import stepgrad
from stepgrad.cli import main as cli_main
from stepgrad.teach.check import check, loads

DECK_OUT_O1 = 0.75136507
DECK_DW5 = 0.082167041
DECK_DW1 = 0.000438568


def verdicts(text: str, round_to: int | None = None) -> dict[str, str]:
    report = check(stepgrad.builtin(), loads(text), round_to=round_to)
    return {r.name: r.verdict for r in report.results}


def test_a_bare_zero_for_a_large_value_is_wrong_on_a_four_decimal_sheet() -> None:
    got = {**verdicts("net_h1 = 0.3775\nout_o1 = 0\n"), **verdicts("net_h1 = 0.3775\ndE_total/dw5 = 0\ndE_total/dw1 = 0\n")}
    assert round(DECK_OUT_O1, 4) != 0 and round(DECK_DW5, 4) != 0
    assert got["out_o1"] == "wrong" and got["dE_total/dw5"] == "wrong"
    assert round(DECK_DW1, 4) == 0.0004 and got["dE_total/dw1"] == "wrong"  # 0.0004 at four decimals, not 0


def test_a_bare_zero_for_a_value_rounded_away_is_close() -> None:
    assert round(DECK_DW1, 3) == 0.0
    got = verdicts("net_h1 = 0.378\nnet_h2 = 0.393\ndE_total/dw1 = 0\n")
    assert got["dE_total/dw1"] == "close"


def test_under_round_k_a_bare_zero_is_read_at_k_decimals() -> None:
    assert verdicts("dE_total/dw5 = 0\n", round_to=4)["dE_total/dw5"] == "wrong"


def test_a_sheet_of_zeros_has_nothing_correct_and_fails(tmp_path, capsys) -> None:
    names = [line.split("=")[0].strip() for line in _names_lines(capsys)]
    sheet = tmp_path / "zeros.txt"
    sheet.write_text("".join(f"{n} = 0\n" for n in names))
    report = check(stepgrad.builtin(), loads(sheet.read_text()))
    assert report.counts["correct"] == 0 and not report.ok
    assert all(r.verdict != "close" or r.diagnosis for r in report.results)  # never "rounding drift" for a 0
    with pytest.raises(SystemExit) as stop:
        cli_main(["check", str(sheet)])
    assert stop.value.code == 1


def _names_lines(capsys) -> list[str]:
    cli_main(["names"])
    return [line for line in capsys.readouterr().out.splitlines() if "=" in line and not line.startswith("#")]
