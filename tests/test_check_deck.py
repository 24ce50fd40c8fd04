"""`stepgrad check` on the seed deck's own numbers (examples/seed-deck-solution.txt, transcribed as printed)."""

from __future__ import annotations

import json

from conftest import ROOT, run_cli

DECK = ROOT / "examples" / "seed-deck-solution.txt"


def _results() -> tuple[int, dict]:
    proc = run_cli("check", str(DECK), "--format", "json")
    data = json.loads(proc.stdout)
    return proc.returncode, data


def test_the_deck_slips_get_the_verdicts_a_marker_gives():
    code, data = _results()
    assert code == 1  # something is wrong
    by = {r["name"]: r for r in data["results"]}
    # -21707153: a dropped decimal point
    assert (by["dE_total/dout_o2"]["verdict"], by["dE_total/dout_o2"]["mistake"]) == ("wrong", "power_of_ten")
    # w3's gradient is w1's number
    assert (by["dE_total/dw3"]["verdict"], by["dE_total/dw3"]["mistake"]) == ("wrong", "wrong_neuron")
    assert "h1's values used instead of h2's" in by["dE_total/dw3"]["diagnosis"]
    # ... and w3+ is computed correctly from it
    assert by["w3+"]["verdict"] == "follows"
    # E_total+ = 0.291027924 is the sequential order's number; the derivation is synchronous
    assert (by["E_total+"]["verdict"], by["E_total+"]["mistake"]) == ("wrong", "old_new_weights")
    assert "sequential update order" in by["E_total+"]["diagnosis"]
    # products computed from mis-copied or truncated factors: rounding drift
    for name in ("dE_total/dw2", "net_o2", "dE_total/dout_h2", "dE_total/dw7"):
        assert by[name]["verdict"] == "close", name
        assert 0 < by[name]["relative_error"] < 1e-5
    assert by["dE_total/dw4"]["verdict"] == "follows"  # from the deck's own 0.041369954
    # 0.08266762 is 0.0826676278 truncated: accepted
    assert by["dE_total/dw6"]["verdict"] == "correct"
    # the deck's headline figures
    for name in ("out_h1", "out_o1", "E_total", "dE_total/dw5", "w5+", "dE_total/dw1", "w1+", "w8+"):
        assert by[name]["verdict"] == "correct", name
    assert data["summary"]["wrong"] == 3
    assert data["summary"]["text"].endswith("3 wrong")


def test_json_fields_for_graders():
    _, data = _results()
    for r in data["results"]:
        assert {"name", "given", "expected", "expected_from_own", "verdict", "diagnosis", "relative_error"} <= set(r)
    assert data["update_order"] == "synchronous"


def test_text_table_highlights_the_first_mistake_and_summarizes():
    proc = run_cli("check", str(DECK))
    assert proc.returncode == 1
    out = proc.stdout
    assert out.count("first mistake") == 1
    first = next(line for line in out.splitlines() if "first mistake" in line)
    assert "dE_total/dout_o2" in first
    summary = [line for line in out.splitlines() if "correct," in line]
    assert summary and "follows" in summary[-1] and "close" in summary[-1] and "wrong" in summary[-1]


def test_sequential_order_accepts_the_deck_error_after_the_update():
    proc = run_cli("check", str(DECK), "--update-order", "sequential", "--format", "json")
    by = {r["name"]: r for r in json.loads(proc.stdout)["results"]}
    assert by["E_total+"]["verdict"] == "correct"


def test_a_clean_solution_exits_0_only_when_complete(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("out_h1: 0.5933\nE_total: 0.2984\n'w5+': 0.3589\n")
    proc = run_cli("check", str(path), "--require", "none")
    assert proc.returncode == 0, proc.stdout
    assert "3 correct, 0 follows, 0 close, 0 wrong" in proc.stdout
    proc = run_cli("check", str(path), "--require", "out_h1,E_total,w5+")
    assert proc.returncode == 0, proc.stdout
    proc = run_cli("check", str(path))  # the step's results are asked: 28, three given
    assert proc.returncode == 1
    assert "3 correct, 0 follows, 0 close, 0 wrong, 25 missing" in proc.stdout
    words = " ".join(proc.stdout.split())
    assert "25 answers missing: the forward pass (7: net_h1 … out_o2)" in words and "the new weights (7: w1+ … w8+)" in words


def test_explain_json_is_a_correct_solution(tmp_path):
    step = tmp_path / "step.json"
    run_cli("explain", "--format", "json", "-o", str(step))
    proc = run_cli("check", str(step), "--format", "json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["summary"]["wrong"] == 0

