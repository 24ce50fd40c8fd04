"""A stride or padding wrong from the start: the student's feature map has another size. The report says once what
the numbers are ("what padding 0 gives (the network has padding 1)"), names the positions written that the network
does not have and the network's positions not computed, marks the lines where the geometry enters wrong (the conv's
nets, its kernel gradients) and what the student computed from them follows.

The students are tests/conv_students.py's (plain Python loops, independent of stepgrad), solving the problem with
the wrong stride or padding throughout; the sheet is checked against the problem's network.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from conv_students import Problem, conv, solve
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.check import check, solution
from stepgrad.teach.check.report import render_text
from test_conv_students import problem

IMAGE = [[[round(((r * 3 + c * 5 + r * c) % 11) / 10 - 0.35, 2) for c in range(8)] for r in range(8)]]  # an 8x8 digit
KERNEL = [[[[0.4, -0.3], [0.2, 0.5]]], [[[-0.2, 0.6], [0.3, -0.1]]]]


def digits_problem(stride: int, padding: int, pool_kernel: int) -> Problem:
    """One 8x8 channel, conv c1 (2 channels, 2x2 kernel, tanh), a max-pool of stride = kernel, dense d1."""
    size = (8 + 2 * padding - 2) // stride + 1
    flat = 2 * ((size - pool_kernel) // pool_kernel + 1) ** 2
    weights = [[round(0.1 * ((3 * j + 2 * u) % 9) - 0.4, 2) for u in range(flat)] for j in range(2)]
    return Problem(inputs=[IMAGE], targets=[[0.2, 0.7]], kernel=KERNEL, bias=[0.05, -0.1], stride=stride,
                   padding=padding, pool="max", pool_kernel=pool_kernel, pool_stride=pool_kernel, weights=weights,
                   dense_bias=[0.1, -0.05], learning_rate=0.5)


def mark(p: Problem, sheet: dict[str, float]):
    return check(LayerNetwork.from_dict(p.spec()), solution.loads("\n".join(f"{k} = {v:.6g}" for k, v in sheet.items())))


def test_padding_forgotten_throughout() -> None:
    """Padding 1 makes c1's map 5x5 (the pool of 2 drops its last row and column); forgotten, it is 4x4: the same
    pooled size, so the student finishes the step on their own map."""
    p = digits_problem(stride=2, padding=1, pool_kernel=2)
    sheet = solve(replace(p, padding=0))
    assert "net_c1[1,5,5]" not in sheet and "net_c1[1,4,4]" in sheet
    report = mark(p, sheet)
    geometry = report.meta["geometry"]
    assert geometry["mistake"] == "padding_off" and geometry["reading"] == "padding 0 (the network has padding 1)"
    assert "net_c1[1,5,1]" in geometry["missing"] and not geometry["extra"]
    assert geometry["note"].startswith("net_c1, out_c1: these numbers are what padding 0 gives (the network has padding 1)")
    assert "4x4" in geometry["note"] and "5x5" in geometry["note"]
    got = {r.name: (r.verdict, r.mistake) for r in report.results}
    nets = [n for n in got if n.startswith("net_c1")]
    assert all(got[n] == ("wrong", "padding_off") for n in nets if got[n][0] != "correct")
    kernel = [n for n in got if n.startswith("dE_total/dk1")]
    assert kernel and all(got[n] == ("wrong", "padding_off") for n in kernel if got[n][0] != "correct")
    others = {n: v for n, v in got.items() if n not in nets + kernel}
    assert {v for v, _ in others.values()} <= {"correct", "follows"}
    assert sum(v == "follows" for v, _ in others.values()) > 10
    assert "what padding 0 gives" in render_text(report, width=160)


@pytest.mark.slow  # some 5 s: 264 unknown names' "did you mean" hints before the sheet is re-read
def test_stride_one_throughout() -> None:
    """Stride 2 makes c1's map 4x4; with stride 1 it is 7x7: 33 positions per channel the network does not have, no
    wall of unknown names; a 4x4 max-pool of stride 4 takes both maps to 1x1, so the step goes on."""
    p = digits_problem(stride=2, padding=0, pool_kernel=4)
    sheet = solve(replace(p, stride=1))
    report = mark(p, sheet)
    geometry = report.meta["geometry"]
    assert geometry["mistake"] == "stride_off" and geometry["reading"] == "stride 1 (the network has stride 2)"
    assert "net_c1[1,7,7]" in geometry["extra"] and "out_c1[2,5,1]" in geometry["extra"]
    assert sum(n.startswith("net_c1") for n in geometry["extra"]) == 2 * (49 - 16)
    assert not any(r.verdict == "unknown" for r in report.results)
    assert "written at 66 positions the network does not have (net_c1[1,1,5] … net_c1[2,7,7]" in geometry["note"]
    got = {r.name: (r.verdict, r.mistake) for r in report.results}
    entered = [n for n, v in got.items() if v[0] == "wrong"]
    assert entered and all(got[n][1] == "stride_off" and n.startswith(("net_c1", "dE_total/dk1")) for n in entered)
    assert {v for v, _ in got.values()} <= {"correct", "follows", "wrong"}
    assert all(got[n][0] in ("correct", "follows") for n in got if n.startswith(("out_p1", "net_d1", "k1", "b_c1")))


@pytest.mark.slow
def test_stride_one_and_stuck_at_the_dense_layer() -> None:
    """test_conv_students' problem (stride 2, padding 1: a 3x3 map) done with stride 1: a 5x5 map, pooled 4x4: 32
    values for a dense layer of 8 inputs; the student stops there. The forward maps are read in their geometry."""
    p = problem()
    sheet: dict[str, float] = {}
    x = p.inputs[0]
    net = conv(x, p.kernel, p.bias, 1, p.padding, False)
    out = [[[math.tanh(v) for v in row] for row in plane] for plane in net]
    for o, plane in enumerate(net):
        for r, row in enumerate(plane):
            for c, v in enumerate(row):
                sheet[f"net_c1[{o + 1},{r + 1},{c + 1}]"] = v
                sheet[f"out_c1[{o + 1},{r + 1},{c + 1}]"] = out[o][r][c]
    for o, plane in enumerate(out):
        for r in range(len(plane) - 1):
            for c in range(len(plane) - 1):
                sheet[f"out_p1[{o + 1},{r + 1},{c + 1}]"] = max(plane[r][c], plane[r][c + 1], plane[r + 1][c],
                                                                plane[r + 1][c + 1])
    report = mark(p, sheet)
    geometry = report.meta["geometry"]
    assert geometry["reading"] == "stride 1 (the network has stride 2)"
    assert "cannot take that size" in geometry["note"]
    assert "net_c1[2,5,5]" in geometry["extra"] and "out_p1[1,4,4]" in geometry["extra"]
    assert not any(r.verdict == "unknown" for r in report.results)
    got = {r.name: (r.verdict, r.mistake) for r in report.results}
    assert all(v == ("wrong", "stride_off") for n, v in got.items() if n.startswith("net_c1") and v[0] != "correct")
    assert all(v[0] in ("correct", "follows") for n, v in got.items() if n.startswith(("out_c1", "out_p1")))


def test_a_correct_sheet_and_a_per_line_stride_slip_get_no_sheet_note() -> None:
    from conv_students import Slips

    p = problem()
    assert "geometry" not in mark(p, solve(p)).meta
    assert "geometry" not in mark(p, solve(p, Slips(backward_stride=1))).meta  # same map, one wrong step


def test_padding_forgotten_throughout_by_hand_rounding() -> None:
    """The same student rounding every value to 3 decimals, marked with --round 3: the sheet is read alike."""
    from conv_students import Slips

    p = digits_problem(stride=2, padding=1, pool_kernel=2)
    sheet = solve(replace(p, padding=0), Slips(round_to=3, write_flatten=True))
    report = check(LayerNetwork.from_dict(p.spec()), solution.loads("\n".join(f"{k} = {v:.3f}" for k, v in sheet.items())),
                   round_to=3)
    assert report.meta["geometry"]["reading"] == "padding 0 (the network has padding 1)"
    got = {r.name: (r.verdict, r.mistake) for r in report.results}
    assert all(v == ("wrong", "padding_off") for v in got.values() if v[0] == "wrong")
    assert {v for v, _ in got.values()} <= {"correct", "follows", "wrong"}
    assert sum(v == "follows" for v, _ in got.values()) > 10


def test_the_class_feedback_says_it_once(tmp_path) -> None:
    """Marked as one of a class: the student's feedback (Markdown and HTML) carries the note on the whole sheet."""
    from stepgrad.teach.classroom import mark_class

    p = digits_problem(stride=2, padding=1, pool_kernel=2)
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "s1.txt").write_text("\n".join(f"{k} = {v:.6g}" for k, v in solve(replace(p, padding=0)).items()))
    net = LayerNetwork.from_dict(p.spec())
    book = mark_class(str(folder), lambda student: net)
    row = book.rows[0]
    assert "Note on the whole sheet: net_c1, out_c1: these numbers are what padding 0 gives" in book.feedback(row)
    assert "Note on the whole sheet" in book.feedback_html(row)


def test_a_partial_right_sheet_is_not_reread(monkeypatch) -> None:
    """A sheet stopped halfway through the map (study, a quiz, an unfinished homework) costs no second marking."""
    from stepgrad.teach.check import geometry_sheet

    def refuse(*args, **kwargs):
        raise AssertionError("read in another geometry")

    monkeypatch.setattr(geometry_sheet, "_readings", refuse)
    p = digits_problem(stride=2, padding=1, pool_kernel=2)
    sheet = solve(p)
    half = dict(list(sheet.items())[:20])
    assert mark(p, half).counts["wrong"] == 0
