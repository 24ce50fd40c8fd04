"""Every name `stepgrad names` prints for a sequence network parses (core.names) and round-trips through `check`.

Over the sequence gallery (tests/seq_trace_gallery.py and random rnn, attention and normalization networks of
tests/seq_gallery.py, truncated BPTT's bptt<k>_ sums included) and networks whose last layer is the rnn or the attention head
(their targets and errors are target_h1[t,j], E_h1[t,j]; with the last state only target_h1[j]): the listing
written back as a solution file with every value at full precision is marked correct, answer by answer, and a
wrong target or error term gets a verdict (not a traceback).
"""

from __future__ import annotations

import copy
import json

import pytest

from seq_gallery import random_attention_spec, random_norm_spec, random_rnn_spec
from seq_trace_gallery import GALLERY
from stepgrad.api import quantity_names
from stepgrad.core import names
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.check import check, solution


def _on_top(kind: str, output: str, samples: int) -> dict:
    """A network whose last layer is the rnn (or the attention head): its targets carry its label."""
    steps, units = 2, 2
    table = {"type": kind, "output": output, **({"hidden": units} if kind == "rnn" else {"out_size": units})}
    rows = [{"inputs": [[0.1 * (s + 1), -0.3], [0.4, 0.2 * s - 0.5]],
             "targets": [0.3, -0.2, 0.1, 0.5][: units * (steps if output == "sequence" else 1)]} for s in range(samples)]
    spec = {"loss": "half_squared_error", "learning_rate": 0.1, "seed": 3, "samples": rows,
            "layers": [{"type": "sequence", "steps": steps, "features": 2}, table]}
    if output == "sequence":
        spec["step_reduction"] = "mean"
    return spec


SPECS = {**{f"gallery-{k}": v for k, v in GALLERY.items()},
         **{f"rnn-{seed}": random_rnn_spec(seed, truncate=False) for seed in range(6)},
         **{f"rnn-truncated-{seed}": random_rnn_spec(seed, truncate=True) for seed in (2, 5, 7)},
         **{f"attention-{seed}": random_attention_spec(seed) for seed in range(4)},
         **{f"norm-{seed}": random_norm_spec(seed) for seed in range(4)},
         **{f"{kind}-on-top-{output}-{samples}": _on_top(kind, output, samples)
            for kind in ("rnn", "attention") for output in ("sequence", "last") for samples in (1, 2)}}


def _listing(tmp_path, key: str) -> dict[str, float]:
    path = tmp_path / f"{key}.json"
    path.write_text(json.dumps(SPECS[key]))
    return json.loads(quantity_names(str(path), fmt="json"))


@pytest.mark.parametrize("key", sorted(SPECS))
def test_every_listed_name_parses_and_check_marks_the_listing_correct(tmp_path, key) -> None:
    listing = _listing(tmp_path, key)
    for name in listing:
        assert str(names.parse(name)) == name, name  # parseable, and written back the same
    answers = solution.loads("\n".join(f"{name} = {value!r}" for name, value in listing.items()))
    report = check(LayerNetwork.from_dict(copy.deepcopy(SPECS[key])), answers)
    assert len(report.results) == len(listing)
    assert [(r.name, r.verdict) for r in report.results if r.verdict != "correct"] == []


def test_an_rnns_targets_are_positions_not_samples() -> None:
    assert names.parse("target_h1[2]") == names.Name("target", neuron="h1", position=(2,))
    assert names.parse("E_h1[1,2][3]") == names.Name("error", neuron="h1", position=(1, 2), sample=3)
    assert names.parse("out_h1[2]").sample == 2  # a dense network's hidden neuron keeps its per-sample name


@pytest.mark.parametrize("output", ["sequence", "last"])
def test_a_wrong_target_or_error_term_of_an_rnn_on_top_gets_a_verdict(tmp_path, output) -> None:
    key = f"rnn-on-top-{output}-2"
    listing = _listing(tmp_path, key)
    wrong = {name: value + 0.25 for name, value in listing.items() if name.startswith(("target_h1", "E_h1"))}
    assert wrong
    report = check(LayerNetwork.from_dict(copy.deepcopy(SPECS[key])),
                   solution.loads("\n".join(f"{name} = {value!r}" for name, value in wrong.items())))
    assert {r.name: r.verdict for r in report.results} == dict.fromkeys(wrong, "wrong")
