"""Conv exercises with a batch of samples and hand rounding: `exercise --layers conv --samples 2 --round 3`.

The key is compared with conv_students.py's hand calculation (plain Python loops, independent of stepgrad) of the
same problem: every sample's values, the batch gradient the mean (or the sum, as the spec says) of the samples', and
with --round K every value rounded to K decimals and carried on. `check` with the sheet's rules (check.toml beside
network.json) marks the key's values, written at the sheet's precision, all correct.
"""

from __future__ import annotations

import csv
import json

import pytest

from conv_students import Problem, Slips, solve
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.check import check, solution
from stepgrad.teach.exercise_layers import generate_conv


def as_problem(spec: dict) -> Problem:
    """The exercise's spec as conv_students' problem (its inputs one map per channel)."""
    conv, pool, _, dense = spec["layers"][1:]
    inputs = [s["inputs"] if isinstance(s["inputs"][0][0], list) else [s["inputs"]] for s in spec["samples"]]
    return Problem(inputs=inputs, targets=[s["targets"] for s in spec["samples"]], kernel=conv["weights"],
                   bias=conv["biases"], stride=conv.get("stride", 1), padding=conv.get("padding", 0),
                   pool=pool["type"][:3], pool_kernel=pool["kernel"], pool_stride=pool["stride"],
                   weights=dense["weights"], dense_bias=dense["biases"], learning_rate=spec["learning_rate"],
                   activation=conv["activation"])


@pytest.mark.parametrize("shape", ["basic", "strided", "channels", "avgpool"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_batch_of_two_is_what_a_hand_calculation_gives(shape: str, reduction: str) -> None:
    ex = generate_conv(3, shape, samples=2, reduction=reduction)
    assert len(ex.spec["samples"]) == 2 and ex.spec["reduction"] == reduction
    sheet = solve(as_problem(ex.spec), Slips(batch_summed=reduction == "sum", write_flatten=True))
    key = ex.trace.values
    assert sheet.keys() <= key.keys() and any(name.endswith("[2]") for name in sheet)
    for name, value in sheet.items():
        assert key[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    text = ex.sheet()
    assert "There are 2 samples" in text and f"each gradient is the {reduction} over the samples" in text


def test_one_sample_writes_no_reduction() -> None:
    ex = generate_conv(7)
    assert len(ex.spec["samples"]) == 1 and "reduction" not in ex.spec and "There are" not in ex.sheet()


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("samples", [1, 2])
def test_the_rounded_key_is_the_hand_calculation_rounded_and_check_accepts_it(k: int, samples: int) -> None:
    ex = generate_conv(5, "strided", samples=samples, round_to=k)
    assert ex.round_to == k and f"Round every value you compute to {k} decimals" in ex.sheet()
    sheet = solve(as_problem(ex.spec), Slips(round_to=k, write_flatten=True))
    key = ex.trace.values
    for name, value in sheet.items():
        assert key[name] == pytest.approx(value, abs=1e-12), name
    written = ex.key_values()
    assert all(len(line.split(" = ")[1].split(".")[1]) == k for line in written.splitlines() if "." in line)
    net = LayerNetwork.from_dict(ex.spec)
    report = check(net, solution.loads(written), round_to=k)
    assert report.ok and report.counts["correct"] == len(report.results)
    exact = check(net, solution.loads(written))  # marked as exact work, the rounding carried is never wrong
    assert exact.counts["wrong"] == 0


def test_the_command_writes_the_rounding_rule_and_check_applies_it(tmp_path) -> None:
    from stepgrad.api import Marking, Problem, check_solution, make_exercise

    out = tmp_path / "batch"
    make_exercise(Problem(layers="conv", seed=4, samples=2, round_to=3, min_digits=3), output=str(out))
    assert (out / "check.toml").read_text() == "[check]\nmin_digits = 3\nround = 3\n"
    spec = json.loads((out / "network.json").read_text())
    assert len(spec["samples"]) == 2
    assert "Round every value to 3 decimals" in (out / "solution-template.txt").read_text()
    _, ok = check_solution(str(out / "key-values.txt"), spec=str(out / "network.json"), fmt="json")
    assert ok
    report, ok = check_solution(str(out / "key-values.txt"), spec=str(out / "network.json"), fmt="json",
                                marking=Marking(round_to=4))  # another rounding rule: the 3-decimal key is not it
    assert json.loads(report)["summary"]["correct"] < len(json.loads(report)["results"])


def test_one_rounded_batch_exercise_per_student(tmp_path) -> None:
    from stepgrad.api import Problem, make_exercise
    from stepgrad.teach.variants import network_for

    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns1,Ada Lovelace\ns2,Grace Hopper\n", encoding="utf-8")
    out = tmp_path / "week6"
    make_exercise(Problem(layers="conv", seed=8, samples=2, round_to=2), roster=str(roster), output=str(out))
    assert (out / "check.toml").read_text() == "[check]\nround = 2\n"
    pick = network_for(str(out))
    for row in csv.DictReader((out / "keys.csv").open(encoding="utf-8")):
        key = solution.loads("\n".join(f"{n} = {float(v):.2f}" for n, v in row.items()
                                       if n not in ("id", "name", "seed") and v))
        report = check(pick(row["id"]), key, round_to=2)
        assert report.ok and report.counts["correct"] == len(key.answers), report.summary()
