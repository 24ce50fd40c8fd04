"""`check` on sequence models: realistic student solutions with each classic mistake get `wrong` with the mistake
named, and what they compute from it afterwards `follows` (error carried forward).

Each student's numbers are computed here independently of the checker: from the exact values by hand (the
last step's BPTT term alone, the sum without one step's term, the three paths less one), with numpy (a
softmax over the columns), or by the engine on a changed network (the attention head without its scale,
batchnorm with its running statistics, an rnn state nudged by a slip in the fourth digit).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from seq_trace_gallery import GALLERY
from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.check import check, solution
from stepgrad.tracing.layered import explain_layers


def net(key: str, **changes) -> LayerNetwork:
    spec = copy.deepcopy(GALLERY[key])
    for index, table in changes.get("layers", {}).items():
        spec["layers"][index].update(table)
    return LayerNetwork.from_dict(spec)


def verdicts(network: LayerNetwork, values: dict[str, float]) -> dict[str, tuple[str, str | None]]:
    report = check(network, solution.loads("\n".join(f"{k} = {v:.8g}" for k, v in values.items())))
    return {r.name: (r.verdict, r.mistake) for r in report.results}


def test_correct_work_is_correct_on_every_gallery_network() -> None:
    for key in GALLERY:
        network = net(key)
        exact = explain_layers(network).values
        assert {v for v, _ in verdicts(network, exact).values()} == {"correct"}, key


def test_wh_gradient_from_the_last_step_only() -> None:
    network = net("rnn_last")
    exact = explain_layers(network).values
    student = {}
    for s in (1, 2):  # both samples: only the step-3 term
        student[f"dE_total[{s}]/dWh1[1,2]"] = exact[f"dE_total[{s}]/dnet_h1_t3[1][{s}]"] * exact[f"h1_t2[2][{s}]"]
    student["dE_total/dWh1[1,2]"] = (student["dE_total[1]/dWh1[1,2]"] + student["dE_total[2]/dWh1[1,2]"]) / 2
    student["Wh1[1,2]+"] = -0.2 - 0.1 * student["dE_total/dWh1[1,2]"]
    got = verdicts(network, student)
    assert got["dE_total[1]/dWh1[1,2]"] == ("wrong", "bptt_last_step_only")
    assert got["dE_total[2]/dWh1[1,2]"] == ("wrong", "bptt_last_step_only")
    assert got["dE_total/dWh1[1,2]"][0] == "follows" and got["Wh1[1,2]+"][0] == "follows"


def test_wh_gradient_without_its_per_sample_work_is_still_named() -> None:
    network = net("rnn_last")
    exact = explain_layers(network).values
    last = [exact[f"dE_total[{s}]/dnet_h1_t3[1][{s}]"] * exact[f"h1_t2[2][{s}]"] for s in (1, 2)]
    got = verdicts(network, {"dE_total/dWh1[1,2]": sum(last) / 2})
    assert got["dE_total/dWh1[1,2]"] == ("wrong", "bptt_last_step_only")


def test_a_time_steps_contribution_dropped() -> None:
    network = net("rnn_last")
    exact = explain_layers(network).values
    terms = {t: exact[f"dE_total[1]/dnet_h1_t{t}[2][1]"] * exact[f"x[{t},1][1]"] for t in (1, 2, 3)}
    got = verdicts(network, {"dE_total[1]/dWx1[2,1]": terms[1] + terms[3]})  # step 2 forgotten
    assert got["dE_total[1]/dWx1[2,1]"] == ("wrong", "bptt_step_dropped")


def test_the_path_back_from_the_next_step_forgotten() -> None:
    network = net("rnn_sequence")
    exact = explain_layers(network).values
    from_above = exact["dE_total/dnet_d1[2,1]"] * exact["w_d1[1,1]"]  # what the dense layer sends to step 2 only
    student = {"dE_total/dh1_t2[1]": from_above,
               "dE_total/dnet_h1_t2[1]": from_above * exact["dh1_t2[1]/dnet_h1_t2[1]"]}
    got = verdicts(network, student)
    assert got["dE_total/dh1_t2[1]"] == ("wrong", "recurrent_path_forgotten")
    assert got["dE_total/dnet_h1_t2[1]"][0] == "follows"


def test_the_attention_scale_forgotten_and_carried_forward() -> None:
    network = net("attention_causal")
    unscaled = explain_layers(net("attention_causal", layers={1: {"scale": False}})).values  # the student's run
    names = ["score_a1[2,1]", "score_a1[2,2]", "a_a1[2,1]", "a_a1[2,2]", "z_a1[2,1]", "out_a1[2,1]"]
    got = verdicts(network, {n: unscaled[n] for n in names})
    assert got["score_a1[2,1]"] == ("wrong", "attention_scale_forgotten")
    assert got["score_a1[2,2]"] == ("wrong", "attention_scale_forgotten")
    assert {got[n][0] for n in names[2:]} == {"follows"}
    # only the head's output written: the forgotten scale is found below it
    got = verdicts(network, {"out_a1[3,2]": unscaled["out_a1[3,2]"]})
    assert got["out_a1[3,2]"] == ("wrong", "attention_scale_forgotten")
    # backward: dE_total/dq without 1/sqrt(2)
    exact = explain_layers(network).values
    got = verdicts(network, {"dE_total/dq_a1[3,1]": exact["dE_total/dq_a1[3,1]"] * math.sqrt(2)})
    assert got["dE_total/dq_a1[3,1]"] == ("wrong", "attention_scale_forgotten")


def test_softmax_over_the_wrong_axis() -> None:
    network = net("attention_causal")
    exact = explain_layers(network).values
    scores = np.full((3, 3), -np.inf)
    for i in range(3):
        for j in range(i + 1):
            scores[i, j] = exact[f"score_a1[{i + 1},{j + 1}]"]
    columns = np.exp(scores) / np.exp(scores).sum(axis=0, keepdims=True)  # each column adds to 1
    student = {f"a_a1[2,{j}]": float(columns[1, j - 1]) for j in (1, 2)}
    student["z_a1[2,1]"] = student["a_a1[2,1]"] * exact["v_a1[1,1]"] + student["a_a1[2,2]"] * exact["v_a1[2,1]"]
    got = verdicts(network, student)
    assert got["a_a1[2,1]"] == ("wrong", "softmax_wrong_axis") and got["a_a1[2,2]"] == ("wrong", "softmax_wrong_axis")
    assert got["z_a1[2,1]"][0] == "follows"


def test_the_softmax_derivative_taken_elementwise() -> None:
    network = net("attention_causal")
    exact = explain_layers(network).values
    # row 3 sees three keys: a(1 - a) dE/da alone differs from the full Jacobian's row
    student = {f"dE_total/dscore_a1[3,{j}]": exact[f"a_a1[3,{j}]"] * (1 - exact[f"a_a1[3,{j}]"]) * exact[f"dE_total/da_a1[3,{j}]"]
               for j in (1, 2, 3)}
    student["dE_total/dq_a1[3,1]"] = sum(student[f"dE_total/dscore_a1[3,{j}]"] * exact[f"k_a1[{j},1]"]
                                         for j in (1, 2, 3)) / math.sqrt(2)
    got = verdicts(network, student)
    assert {got[f"dE_total/dscore_a1[3,{j}]"] for j in (1, 2, 3)} == {("wrong", "softmax_jacobian_diagonal")}
    assert got["dE_total/dq_a1[3,1]"][0] == "follows"


def test_the_variance_path_forgotten_in_batchnorm_and_layernorm() -> None:
    network = net("batchnorm_training")
    exact = explain_layers(network).values
    variance_path = exact["dE_total/dvar_n1[1]"] * 2 * (exact["out_d1[1][1]"] - exact["mu_n1[1]"]) / 3
    student = {"dE_total/dout_d1[1][1]": exact["dE_total/dout_d1[1][1]"] - variance_path}
    student["dE_total/dnet_d1[1][1]"] = student["dE_total/dout_d1[1][1]"] * exact["dout_d1[1][1]/dnet_d1[1][1]"]
    got = verdicts(network, student)
    assert got["dE_total/dout_d1[1][1]"] == ("wrong", "norm_variance_path_forgotten")
    assert got["dE_total/dnet_d1[1][1]"][0] == "follows"
    network = net("layernorm_dense")
    exact = explain_layers(network).values
    variance_path = exact["dE_total[1]/dvar_n1[1][1]"] * 2 * (exact["x[1][1]"] - exact["mu_n1[1][1]"]) / 3
    got = verdicts(network, {"dE_total[1]/dx[1][1]": exact["dE_total[1]/dx[1][1]"] - variance_path})
    assert got["dE_total[1]/dx[1][1]"] == ("wrong", "norm_variance_path_forgotten")


def test_training_and_evaluation_statistics_mixed() -> None:
    network = net("batchnorm_training")
    exact = explain_layers(network).values
    # training mode normalized with the running statistics (0 and 1): the evaluation-mode network's numbers
    evaluation = explain_layers(net("batchnorm_training", layers={2: {"mode": "evaluation"}})).values
    student = {n: evaluation[n] for n in ("xhat_n1[1][1]", "out_n1[1][1]", "xhat_n1[2][3]")}
    got = verdicts(network, student)
    assert got["xhat_n1[1][1]"] == ("wrong", "norm_statistics_mixed")
    assert got["xhat_n1[2][3]"] == ("wrong", "norm_statistics_mixed")
    assert got["out_n1[1][1]"][0] == "follows"
    # the gradient as in evaluation mode: only the path through xhat
    through_xhat = exact["dE_total/dxhat_n1[2][2]"] / math.sqrt(exact["var_n1[2]"] + 1e-5)
    got = verdicts(network, {"dE_total/dout_d1[2][2]": through_xhat})
    assert got["dE_total/dout_d1[2][2]"] == ("wrong", "norm_statistics_mixed")
    # evaluation mode normalized with the batch's statistics: the training-mode network's numbers
    network = net("batchnorm_training", layers={2: {"mode": "evaluation"}})
    got = verdicts(network, {"xhat_n1[1][2]": exact["xhat_n1[1][2]"]})
    assert got["xhat_n1[1][2]"] == ("wrong", "norm_statistics_mixed")


def test_variance_divided_by_n_minus_1() -> None:
    network = net("batchnorm_training")
    exact = explain_layers(network).values
    x = [exact[f"out_d1[2][{s}]"] for s in (1, 2, 3)]
    unbiased = float(np.var(x, ddof=1))
    student = {"var_n1[2]": unbiased,
               "xhat_n1[2][1]": (x[0] - exact["mu_n1[2]"]) / math.sqrt(unbiased + 1e-5)}
    got = verdicts(network, student)
    assert got["var_n1[2]"] == ("wrong", "norm_variance_estimator")
    assert got["xhat_n1[2][1]"][0] == "follows"


def test_the_steps_errors_summed_where_the_spec_takes_their_mean() -> None:
    network = net("rnn_sequence")  # step_reduction = "mean" over 3 steps
    exact = explain_layers(network).values
    summed = explain_layers(LayerNetwork.from_dict({**GALLERY["rnn_sequence"], "step_reduction": "sum"})).values
    steps = [f"{kind}_d1[{t},1]" for kind in ("E", "dE_total/dout", "dE_total/dnet") for t in (1, 2, 3)]
    names = [*steps, "E_total", "dE_total/dh1_t3[1]", "dE_total/dh1_t2[2]"]
    got = verdicts(network, {n: summed[n] for n in names})
    for t in (1, 2, 3):
        assert got[f"E_d1[{t},1]"] == ("wrong", "step_reduction_mixed")
        assert got[f"dE_total/dout_d1[{t},1]"] == ("wrong", "step_reduction_mixed")
    assert {got[n][0] for n in ("E_total", "dE_total/dnet_d1[2,1]", "dE_total/dh1_t3[1]", "dE_total/dh1_t2[2]")} == {
        "follows"}
    # only the total written: the sum over the steps found below it
    assert verdicts(network, {"E_total": summed["E_total"]})["E_total"] == ("wrong", "step_reduction_mixed")
    assert summed["E_total"] == pytest.approx(3 * exact["E_total"], rel=1e-12)


def test_a_slip_in_the_fourth_digit_carried_through_time() -> None:
    # the published walkthrough's kind of slip: a tanh off in the fourth digit, every later number from it
    network = net("rnn_last")
    exact = explain_layers(network).values
    slipped = copy.deepcopy(network)
    rnn = slipped.layers[0]
    rnn.nudge = ("h", (0, 0, 0), 4e-4)  # h1_t1[1] of sample 1
    fwd = engine.forward(slipped, slipped.inputs, slipped.targets)
    cache = fwd.values["h1"].cache
    student = {"h1_t1[1][1]": float(cache["h"][0, 0, 0]), "net_h1_t2[1][1]": float(cache["net"][0, 1, 0]),
               "h1_t2[1][1]": float(cache["h"][0, 1, 0]), "net_h1_t2[2][1]": float(cache["net"][0, 1, 1]),
               "h1_t2[2][1]": float(cache["h"][0, 1, 1]), "net_h1_t3[1][1]": float(cache["net"][0, 2, 0]),
               "net_h1_t3[2][1]": float(cache["net"][0, 2, 1]), "h1_t3[1][1]": float(cache["h"][0, 2, 0]),
               "h1_t3[2][1]": float(cache["h"][0, 2, 1]), "net_d1[1][1]": float(fwd.values["d1"].net[0, 0]),
               "out_d1[1][1]": float(fwd.values["d1"].out[0, 0])}
    assert abs(student["h1_t1[1][1]"] - exact["h1_t1[1][1]"]) > 1e-3 * abs(exact["h1_t1[1][1]"])
    got = verdicts(network, student)
    assert got["h1_t1[1][1]"][0] == "wrong"
    assert {got[n][0] for n in student if n != "h1_t1[1][1]"} == {"follows"}


@pytest.mark.parametrize("key", ["bptt_last_step_only", "bptt_step_dropped", "recurrent_path_forgotten",
                                 "attention_scale_forgotten", "softmax_wrong_axis", "softmax_jacobian_diagonal",
                                 "norm_variance_path_forgotten",
                                 "norm_mean_path_forgotten", "norm_statistics_mixed", "norm_variance_estimator",
                                 "step_reduction_mixed"])
def test_diagnoses_are_registered_for_layer_networks_only(key: str) -> None:
    from stepgrad.teach.check.diagnoses import MISTAKES, ORDER

    entry = next(m for m in MISTAKES if m.key == key)
    assert entry.networks == ("layers",) and key in ORDER


def test_the_published_bptt_walkthrough_marked_as_a_careful_marker_would() -> None:
    # PracHub's BPTT walkthrough (tests/test_seq_published.py cites it): tanh(1.04621) printed 0.7790 (it is
    # 0.78033); every later figure of step 2 follows from that slip, and its two losses have the last digit off
    from test_seq_published import PRACHUB

    network = LayerNetwork.from_dict(PRACHUB)
    figures = {"h1_t1[1]": "0.4621", "out_d1[1,1]": "0.9242", "E_d1[1,1]": "0.00288", "net_h1_t2[1]": "1.04621",
               "h1_t2[1]": "0.7790", "out_d1[2,1]": "1.558", "E_d1[2,1]": "0.0978",
               "dE_total/dout_d1[2,1]": "-0.442", "dE_total/dh1_t2[1]": "-0.884",
               "dh1_t2[1]/dnet_h1_t2[1]": "0.3931", "dE_total/dnet_h1_t2[1]": "-0.3475"}
    report = check(network, solution.loads("\n".join(f"{k} = {v}" for k, v in figures.items())))
    got = {r.name: r.verdict for r in report.results}
    assert [got[n] for n in ("h1_t1[1]", "out_d1[1,1]", "net_h1_t2[1]")] == ["correct"] * 3
    assert got["h1_t2[1]"] == "wrong"  # the slip: marked where it happens, with the exact value and the formula
    assert {got[n] for n in ("out_d1[2,1]", "dE_total/dout_d1[2,1]", "dE_total/dh1_t2[1]", "dh1_t2[1]/dnet_h1_t2[1]",
                             "dE_total/dnet_h1_t2[1]")} == {"follows"}
    assert got["E_d1[1,1]"] == "close"  # 0.00288 for 0.0028702: one unit of its last digit off
    # 0.0978 for the 0.097682 its own 1.558 gives: 1.2 units of the last digit off, more than rounding explains
    assert got["E_d1[2,1]"] == "wrong"
    slip = next(r for r in report.results if r.name == "h1_t2[1]")
    assert slip.expected == pytest.approx(math.tanh(1.04621), abs=1e-5)
