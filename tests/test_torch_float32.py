"""float32 models: said in every explanation, and explained in float32 on request (dtype="float32",
--dtype float32): every quantity a float32 number, the new weights equal to torch's own float32 step within a
few float32 ulps (the order of adding in a sum is torch's own)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import stepgrad
from stepgrad.core.errors import StepgradError
from stepgrad.core.names import layout, parse, updated


def _computed(step) -> bool:
    """A quantity of the step (not a setting: the learning rate and hyperparameters are the numbers given)."""
    return parse(step.name).kind not in ("hyperparameter", "learning_rate")

torch = pytest.importorskip("torch")
nn = torch.nn


def _float32_step(make):
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 3))  # float32, torch's default
    rng = np.random.default_rng(5)
    x, y = torch.tensor(rng.normal(size=(5, 3)), dtype=torch.float32), torch.tensor([0, 2, 1, 1, 0])
    loss_fn = nn.CrossEntropyLoss()
    opt = make(model.parameters())
    for _ in range(2):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    twin, twin_opt = copy.deepcopy((model, opt))
    twin_opt.zero_grad()
    loss_fn(twin(x), y).backward()
    twin_opt.step()
    return model, opt, x, y, loss_fn, twin


@pytest.mark.parametrize("make", [lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.9),
                                  lambda p: torch.optim.Adam(p, lr=0.01), lambda p: torch.optim.RMSprop(p, lr=0.01)],
                         ids=["sgd", "adam", "rmsprop"])
def test_a_float32_explanation_is_torchs_float32_step(make):
    model, opt, x, y, loss_fn, twin = _float32_step(make)
    trace = stepgrad.explain_torch(model, x, y, loss_fn=loss_fn, optimizer=opt, dtype="float32")
    assert trace.meta["dtype"] == "float32" and trace.meta["torch"]["computed_in"] == "float32"
    intro = trace.section("given").intro
    assert "Computed in float32" in intro and "computed in float64" not in intro
    for step in filter(_computed, trace):  # every quantity is a float32 number
        assert step.value == float(np.float32(step.value)), step.name
    names = layout([3, 6, 3], [False, False])
    for l, linear in enumerate((twin[0], twin[2])):
        theirs = linear.weight.detach().numpy()
        ours = np.array([[trace.values[updated(w)] for w in row] for row in names.weights[l]], dtype=np.float32)
        ulps = np.abs(ours.astype(np.float64) - theirs) / np.spacing(np.abs(theirs).max())  # at the tensor's scale
        assert ulps.max() <= 4, ulps.max()
    comparison = stepgrad.compare_with_torch(model, x, y, loss_fn=loss_fn, optimizer=opt, dtype="float32")
    assert comparison.computed_in == "float32" and comparison.agrees(), str(comparison)
    assert "both computed in float32" in str(comparison)


def test_a_float32_model_explained_in_float64_says_so_in_every_format():
    model, opt, x, y, loss_fn, _ = _float32_step(lambda p: torch.optim.SGD(p, lr=0.1))
    trace = stepgrad.explain_torch(model, x, y, loss_fn=loss_fn, optimizer=opt)
    line = "parameters are float32; this step is computed in float64"
    for fmt in ("text", "markdown", "html", "json", "latex"):
        assert line in stepgrad.render(trace, fmt), fmt


def test_float32_and_hand_rounding_do_not_mix():
    with pytest.raises(StepgradError, match="leave out --dtype or --round"):
        stepgrad.explain(stepgrad.builtin(), round_to=4, dtype="float32")
    with pytest.raises(StepgradError, match="expected one of float64, float32"):
        stepgrad.explain(stepgrad.builtin(), dtype="float16")


def test_the_deck_in_float32_rounds_every_quantity():
    exact = stepgrad.explain(stepgrad.builtin(), optimizer="nadam").values
    single = stepgrad.explain(stepgrad.builtin(), optimizer="nadam", dtype="float32").values
    assert set(exact) == set(single)
    trace = stepgrad.explain(stepgrad.builtin(), optimizer="nadam", dtype="float32")
    for step in filter(_computed, trace):
        assert step.value == float(np.float32(step.value)), step.name
    for name, value in single.items():
        assert value == pytest.approx(exact[name], rel=1e-5, abs=1e-7), name


@pytest.mark.slow  # processes: make test (CI)
def test_the_command_explains_in_float32_and_refuses_it_with_hand_rounding(cli):
    import json

    ok = cli("explain", "--dtype", "float32", "--optimizer", "adam", "--format", "json")
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["meta"]["dtype"] == "float32"
    assert data["values"]["w5+"] == float(np.float32(data["values"]["w5+"]))
    bad = cli("explain", "--dtype", "float32", "--round", "4")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "leave out --dtype or --round" in bad.stderr
