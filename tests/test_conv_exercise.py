"""Conv + pool + dense exercises: fair numbers (no saturation, no kink, no max-pool tie), the same seed the same
exercise, and the key's values marked correct by `check` against the exercise's own network.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.check import check, solution
from stepgrad.teach.exercise_layers import MAX_CONV_NET, MIN_GAP, MIN_MISS, generate_conv


@pytest.mark.parametrize("seed", range(6))
def test_numbers_are_fair(seed: int) -> None:
    ex = generate_conv(seed)
    net = LayerNetwork.from_dict(json.loads(ex.files()["network.json"]))
    fwd = engine.forward(net, net.inputs, net.targets)
    z, out = fwd.values["c1"].net[0, 0], fwd.values["c1"].out[0, 0]
    if net.layers[0].activation == "tanh":
        assert np.abs(z).max() <= MAX_CONV_NET
    else:
        assert np.abs(z).min() >= 0.05
    for r in range(2):
        for c in range(2):
            top = np.sort(out[r:r + 2, c:c + 2].ravel())
            assert top[-1] - top[-2] >= MIN_GAP  # one clear maximum: the route is unambiguous
    assert np.abs(fwd.output - net.targets).min() >= MIN_MISS
    assert generate_conv(seed).spec == ex.spec


def test_the_key_is_correct_and_the_template_blank() -> None:
    ex = generate_conv(2)
    net = LayerNetwork.from_dict(json.loads(ex.files()["network.json"]))
    answers = "\n".join(f"{s.name} = {s.value:.6g}" for s in ex.trace if s.text)
    report = check(net, solution.loads(answers))
    assert report.ok and report.counts["correct"] == len([s for s in ex.trace if s.text])
    blank = check(net, solution.loads(ex.template()))
    assert not blank.ok and blank.counts["unanswered"] == report.counts["correct"]


def test_the_command_writes_the_files(tmp_path, capsys) -> None:
    from stepgrad.cli import main

    main(["exercise", "--layers", "conv", "--seed", "4", "-o", str(tmp_path / "conv")])
    written = sorted(p.name for p in (tmp_path / "conv").iterdir())
    assert written == ["key.md", "network.json", "sheet.md", "solution-template.txt"]
    with pytest.raises(SystemExit) as exit_:
        main(["exercise", "--layers", "conv", "--format", "latex"])
    assert exit_.value.code == 2 and "--format:" in capsys.readouterr().err
