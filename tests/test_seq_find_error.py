"""Find the error on layer-table networks (rnn, attention, layernorm, batchnorm, conv): every mistake of the
layer catalogue planted in a sheet whose printed solution `stepgrad check` marks with the planted line wrong
and that mistake named, every other line right or carried forward; a right answer earns full marks."""

from __future__ import annotations

import json
import re
from functools import cache

import pytest

import stepgrad
from conv_gallery import random_spec
from seq_trace_gallery import GALLERY
from stepgrad.api import check_solution
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.exercise import Exercise
from stepgrad.teach.find_error import catalogue, plant
from stepgrad.tracing.layered import explain_layers

SEQUENCE_KEYS = ["bptt_last_step_only", "bptt_step_dropped", "recurrent_path_forgotten", "attention_scale_forgotten",
                 "softmax_wrong_axis", "softmax_jacobian_diagonal", "softmax_backward_wrong_axis",
                 "norm_variance_path_forgotten", "norm_mean_path_forgotten", "norm_statistics_mixed",
                 "norm_variance_estimator", "step_reduction_mixed"]
CONV_KEYS = ["kernel_flipped", "avgpool_without_scale", "skip_gradient_forgotten"]


@cache
def _networks() -> list[tuple[str, Exercise]]:
    found = []
    for key, spec in GALLERY.items():
        net = LayerNetwork.from_dict(spec)
        found.append((key, Exercise(0, net, explain_layers(net))))  # type: ignore[arg-type]
    net = LayerNetwork.from_dict(random_spec(2, samples=1))  # conv1d, residual, average pool, dense
    found.append(("conv1d residual avgpool", Exercise(0, net, explain_layers(net))))  # type: ignore[arg-type]
    return found


def _printed(sheet_text: str) -> str:
    """The solution as the sheet prints it: each numbered line's last number, under its quantity."""
    lines = re.findall(r"^\s*\d+\. (\S+) = .* = (\S+)$", sheet_text, re.M)
    assert lines
    return "".join(f"{name} = {value}\n" for name, value in lines)


def test_the_layer_catalogue_and_the_dense_one() -> None:
    layers = [m.key for m in catalogue("layers")]
    assert set(SEQUENCE_KEYS + CONV_KEYS) <= set(layers) and "attention_scale_applied" in layers
    assert not set(SEQUENCE_KEYS + CONV_KEYS) & {m.key for m in catalogue()}  # a dense sheet's list is unchanged


@pytest.mark.parametrize("key", SEQUENCE_KEYS + CONV_KEYS)
def test_every_layer_mistake_is_planted_found_and_named(tmp_path, key: str) -> None:
    for _label, ex in _networks():
        try:
            sheet = plant(ex, keys=(key,), seed=1)
        except stepgrad.StepgradError:
            continue
        break
    else:
        pytest.fail(f"{key}: planted in none of the networks")
    files = sheet.files("markdown")
    (tmp_path / "network.json").write_text(files["network.json"])
    (tmp_path / "solution.txt").write_text(_printed(files["find-error.md"]))
    report, ok = check_solution(str(tmp_path / "solution.txt"), spec=str(tmp_path / "network.json"), fmt="json")
    results = json.loads(report)["results"]
    first = next(r for r in results if r["verdict"] == "wrong")
    planted = sheet.planted[0]
    assert (first["name"], first["mistake"]) == (planted.name, key), _label
    assert not ok
    assert all(r["verdict"] in ("correct", "follows", "close") for r in results if r["name"] != planted.name)
    assert first["expected_from_own"] == pytest.approx(planted.corrected, rel=1e-6)


def test_a_right_answer_gets_full_marks(tmp_path) -> None:
    ex = dict(_networks())["attention_causal"]
    sheet = plant(ex, keys=("softmax_backward_wrong_axis",), seed=1)
    for name, text in sheet.files("markdown").items():
        (tmp_path / name).write_text(text)
    p = sheet.planted[0]
    number = [m.key for m in catalogue("layers")].index(p.key) + 1  # the sheet's list is the layer catalogue
    assert f"{number}. the softmax's Jacobian summed over the wrong axis" in (tmp_path / "find-error.md").read_text()
    (tmp_path / "answer.txt").write_text(f"line = {p.line}\nmistake = {number}\ncorrected = {p.corrected:.6g}\n")
    report, ok = check_solution(str(tmp_path / "answer.txt"), spec=str(tmp_path / "network.json"), fmt="json")
    assert ok and json.loads(report)["points"] == 3


def test_the_planted_column_sum_is_the_students(tmp_path) -> None:
    """The planted softmax backward over the wrong axis is the column's sum, computed here from the exact values."""
    ex = dict(_networks())["attention_causal"]
    sheet = plant(ex, keys=("softmax_backward_wrong_axis",), seed=1)
    p = sheet.planted[0]
    i, j = (int(v) for v in re.search(r"\[(\d+),(\d+)\]", p.name).groups())  # type: ignore[union-attr]
    exact = ex.trace.values
    column = [q for q in (1, 2, 3) if q >= j]  # causal: the queries that see key j
    wrong = exact[f"a_a1[{i},{j}]"] * (exact[f"dE_total/da_a1[{i},{j}]"] - sum(
        exact[f"a_a1[{q},{j}]"] * exact[f"dE_total/da_a1[{q},{j}]"] for q in column))
    # (the sheet computes from its lines as printed, to 9 significant digits)
    assert p.value == pytest.approx(wrong, rel=1e-7) and p.corrected == pytest.approx(exact[p.name], rel=1e-7)


def test_the_conv_exercise_with_find_error(tmp_path) -> None:
    """`stepgrad exercise --layers conv --find-error 1 --mistakes kernel_flipped -o DIR`: the sheet, its key and
    network.json; the right answer, checked beside them, earns full marks (was: --find-error silently ignored)."""
    from stepgrad.api import Problem, make_exercise

    make_exercise(Problem(layers="conv", seed=3, find_error=1, mistakes="kernel_flipped"), output=str(tmp_path))
    key = json.loads((tmp_path / "find-error.json").read_text())
    (p,) = key["planted"]
    assert p["key"] == "kernel_flipped" and key["catalogue"] == "layers"
    (tmp_path / "answer.txt").write_text(f"line = {p['line']}\nmistake = kernel flipped\ncorrected = {p['corrected']:.6g}\n")
    report, ok = check_solution(str(tmp_path / "answer.txt"), spec=str(tmp_path / "network.json"), fmt="json")
    assert ok and json.loads(report)["points"] == 3
