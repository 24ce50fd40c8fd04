"""explain and names on sequence models (tests/seq_trace_gallery.py): the conventions stated, one step, row or group
derived and the rest as grids, BPTT's plan per weight, the JSON round trip, and every name listed."""

from __future__ import annotations

import json

import pytest

from seq_trace_gallery import GALLERY
from stepgrad.cli import main
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.trace import Trace
from stepgrad.formats import render
from stepgrad.tracing.layered import explain_layers

CONVENTIONS = {"rnn_last": ["full BPTT", "h0 = 0", "passes on the last step's h"],
               "rnn_sequence": ["full BPTT", "h0 given", "the mean over the time steps"],
               "attention_causal": ["scores scaled by 1/sqrt(2)", "softmax over the keys (each row of a adds to 1)",
                                    "causal mask"],
               "layernorm_dense": ["biased variance", "eps 1e-05"],
               "batchnorm_training": ["the batch's mean and biased variance", "momentum 0.1",
                                      "mixes the samples"]}


def _text(key: str, **options) -> str:
    return render(explain_layers(LayerNetwork.from_dict(GALLERY[key])), "text", **options)


@pytest.mark.parametrize("key", GALLERY)
def test_text_states_the_conventions(key: str) -> None:
    text = _text(key)
    for phrase in CONVENTIONS[key]:
        assert phrase in " ".join(text.split()), phrase


def test_rnn_one_step_derived_the_rest_as_a_grid_and_the_plan_per_weight() -> None:
    text = _text("rnn_last")
    assert "net_h1_t2[1][1] = Wx1[1,1] * x[2,1][1]" in text and "\nnet_h1_t3[1][1] =" not in text
    assert "h1 through time (sample 1): a column per step" in text
    assert "dE_total[1]/dh1_t2[1][1] = dE_total[1]/dnet_h1_t3[1][1] * Wh1[1,1]" in text  # back through Wh
    plan = text[text.index("The gradient of Wh1[1,1]"):]
    assert "one term per step" in plan and "h1_t0[1][1] = 0" in plan and "h1_t2[1][1] = " in plan
    full = _text("rnn_last", full=True)
    assert "\nnet_h1_t3[1][1] =" in full and "\nnet_h1_t1[2][2] =" in full


def test_attention_masked_entries_are_marked_not_computed() -> None:
    text = _text("attention_causal")
    assert "query row 2 in full" in text.lower()
    assert "masked" in text and "keys after 2 are masked" in text
    assert "score_a1[1,2] =" not in text


def test_norm_three_paths_in_the_layer_below() -> None:
    text = " ".join(_text("batchnorm_training").split())
    assert ("dE_total/dout_d1[1][1] = dE_total/dxhat_n1[1][1] / sqrt(var_n1[1] + 1e-05) + dE_total/dvar_n1[1] * 2 * "
            "(out_d1[1][1] - mu_n1[1]) / 3 + dE_total/dmu_n1[1] / 3") in text
    assert "running_var_n1[1]+ = (1 - 0.1) * running_var_n1[1] + 0.1 * var_n1[1] * 3 / 2" in text
    layer = " ".join(_text("layernorm_dense").split())
    assert "dE_total[1]/dx[1][1] = dE_total[1]/dxhat_n1[1][1] / sqrt(var_n1[1][1] + 1e-05)" in layer


@pytest.mark.parametrize("key", GALLERY)
def test_json_round_trip_keeps_the_plans(key: str) -> None:
    trace = explain_layers(LayerNetwork.from_dict(GALLERY[key]))
    assert json.loads(render(trace, "json"))["meta"]["layers"]
    again = Trace.from_dict(trace.to_dict())
    assert again.values == pytest.approx(trace.values, rel=1e-9)
    assert [s.paths for s in again if s.paths] and len([s for s in again if s.paths]) == len([s for s in trace if s.paths]) \
        or key == "batchnorm_training"  # samples mixed: the terms of every sample at once, no per-sample plan


def test_names_lists_every_quantity(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "rnn.json"
    spec.write_text(json.dumps(GALLERY["rnn_last"]))
    main(["names", str(spec), "--format", "json"])
    listed = json.loads(capsys.readouterr().out)
    trace = explain_layers(LayerNetwork.from_dict(GALLERY["rnn_last"]))
    assert set(listed) == set(trace.values) and "dE_total[2]/dh1_t1[2][2]" in listed


@pytest.mark.parametrize("key", ["rnn_last", "layernorm_dense"])
def test_one_sample_explained_alone(key: str) -> None:
    network = LayerNetwork.from_dict(GALLERY[key])
    both, second = explain_layers(network), explain_layers(network, sample=1)
    plans = [s for s in second if s.paths]
    assert plans and all(p.value == pytest.approx(second.values[p.factors[0]] * (
        second.values[p.factors[1]] if len(p.factors) > 1 else 1.0), rel=1e-14) for s in plans for p in s.paths)
    # sample 2 alone: its own error's derivatives are the batch's sample-2 ones (samples do not mix here)
    name = "dE_total/dnet_d1[1]" if key == "rnn_last" else "dE_total/dnet_d1[2]"
    assert second.values[name] == pytest.approx(both.values[name.replace("dE_total/", "dE_total[2]/") + "[2]"], rel=1e-13)


def test_a_long_attention_is_refused_in_one_line(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    steps = 90
    spec = {"layers": [{"type": "sequence", "steps": steps, "features": 1}, {"type": "attention", "output": "last"},
                       {"type": "dense", "neurons": 1, "activation": "sigmoid"}],
            "samples": [{"inputs": [[0.01 * t] for t in range(steps)], "targets": [0.5]}]}
    path = tmp_path / "long.json"
    path.write_text(json.dumps(spec))
    with pytest.raises(SystemExit) as stopped:
        main(["explain", str(path)])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.strip().splitlines()) == 1 and "attention a1 over 90 steps" in err


@pytest.mark.parametrize("key,phrase", [("rnn_last", "Step 2 as one matrix product"),
                                        ("attention_causal", "S = Q·K^T / sqrt(2)"),
                                        ("batchnorm_training", "each column's mean and variance"),
                                        ("layernorm_dense", "each row's mean and variance")])
def test_matrix_view(key: str, phrase: str) -> None:
    trace = explain_layers(LayerNetwork.from_dict(GALLERY[key]))
    text = " ".join(render(trace, "text", matrix=True).split())
    assert phrase in text
    if key == "rnn_last":  # the column of step 2: its inputs and the states of step 1, as the trace has them
        column = text[text.index("the column at step 2"):]
        for name in ("x[2,1][1]", "x[2,2][1]", "h1_t1[1][1]", "h1_t1[2][1]"):
            assert column.split(name, 1)[1].split()[0] == render_number(trace.values[name])


def render_number(value: float) -> str:
    from stepgrad.formats.formula import number

    return number(value, 9)


def test_a_wide_rnn_derives_one_unit_of_one_step() -> None:
    spec = {"layers": [{"type": "sequence", "steps": 5, "features": 2}, {"type": "rnn", "hidden": 6, "output": "last"},
                       {"type": "dense", "neurons": 1, "activation": "sigmoid"}], "seed": 4,
            "samples": [{"inputs": [[0.1 * t, -0.2 * t] for t in range(5)], "targets": [0.3]}]}
    trace = explain_layers(LayerNetwork.from_dict(spec))
    text = render(trace, "text")
    derived = [line.split(" =")[0] for line in text.splitlines() if line.startswith(("net_h1_t", "h1_t"))]
    assert derived == ["h1_t0[1]", "net_h1_t2[1]", "h1_t2[1]"]  # one unit of one step; the rest in the grid
    assert "h1 through time: a column per step" in text and "t=5" in text
    full = render(trace, "text", full=True)
    assert "\nnet_h1_t5[6] =" in full
