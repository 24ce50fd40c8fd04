"""Published worked examples of attention and normalization, reproduced figure by figure (each source cited).

A printed figure counts as reproduced when stepgrad's value, rounded or truncated to the digits printed, is the
figure. Where a source slips, `check` marks its figures as a careful marker would (the slip itself `close` or
`wrong`, what the source computes from it afterwards `follows`) and the test names the slip.
"""

from __future__ import annotations

import numpy as np

from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import named_values
from stepgrad.teach.check import check, solution
from test_seq_published import printed


def values_of(spec: dict) -> tuple[LayerNetwork, dict[str, float]]:
    net = LayerNetwork.from_dict(spec)
    return net, named_values(net, engine.step(net, net.inputs, net.targets))


def marks(net: LayerNetwork, figures: dict[str, str]) -> dict[str, str]:
    report = check(net, solution.loads("\n".join(f"{k} = {v}" for k, v in figures.items())))
    return {r.name: r.verdict for r in report.results}


def picks(start: int, rows: int, columns: int = 10) -> list[list[float]]:
    """A projection that copies input features start+1 .. start+rows (Q, K and V given directly)."""
    return [[1.0 if c == start + r else 0.0 for c in range(columns)] for r in range(rows)]


# "flash attension", My learning note for AI (https://mylearningnoteforai.blogspot.com/): N = d = 4, d_v = 2,
# scale 1/sqrt(d) = 1/2, Q, K, V given; S = QK^T/2, P = softmax over each row, O = PV, printed to 4 decimals.
# stepgrad's head projects its input, so the sample's 10 features are [Q | K | V] and W_q, W_k, W_v pick them.
NOTE_Q = [[1, 0, 2, 0], [0, 1, 1, 0], [1, 1, 0, 1], [0, 2, 1, 1]]
NOTE_K = [[2, 1, 0, 0], [0, 1, 1, 0], [1, 0, 1, 1], [0, 0, 2, 1]]
NOTE_V = [[1, 0], [0, 1], [1, 1], [2, 1]]
NOTE = {
    "loss": "half_squared_error", "step_reduction": "sum",
    "layers": [{"type": "sequence", "steps": 4, "features": 10},
               {"type": "attention", "output": "sequence", "key_size": 4, "value_size": 2, "out_size": 2,
                "bias": False, "weights_q": picks(0, 4), "weights_k": picks(4, 4), "weights_v": picks(8, 2),
                "weights_o": [[1.0, 0.0], [0.0, 1.0]]}],
    "samples": [{"inputs": [[float(v) for v in q + k + w] for q, k, w in zip(NOTE_Q, NOTE_K, NOTE_V)],
                 "targets": [[0.0, 0.0]] * 4}]}
NOTE_S = [["1.0", "1.0", "1.5", "2.0"], ["0.5", "1.0", "0.5", "1.0"], ["1.5", "0.5", "1.0", "0.5"],
          ["1.0", "1.5", "1.0", "1.5"]]
NOTE_P = [["0.1570", "0.1570", "0.2588", "0.4269"], ["0.1887", "0.3113", "0.1887", "0.3113"],
          ["0.4271", "0.1571", "0.2589", "0.1571"], ["0.1888", "0.3112", "0.1888", "0.3112"]]
NOTE_O = [["1.2696", "0.8427"], ["1.0000", "0.8113"], ["1.0000", "0.5731"], ["1.0000", "0.8112"]]


def grid(name: str, rows: list[list[str]]) -> dict[str, str]:
    return {f"{name}[{i},{j}]": figure for i, row in enumerate(rows, 1) for j, figure in enumerate(row, 1)}


def test_note_attention_scores_and_the_weights_it_prints_right() -> None:
    _, values = values_of(NOTE)
    for name, figure in grid("score_a1", NOTE_S).items():
        assert printed(values[name], figure), (name, values[name], figure)
    slips = {"a_a1[1,3]", "a_a1[2,2]", "a_a1[2,4]", "a_a1[3,1]"}
    for name, figure in grid("a_a1", NOTE_P).items():
        assert printed(values[name], figure) != (name in slips), (name, values[name], figure)
    # the output rows the note gets right: rows 2-4 (except O[2,2], below)
    for name, figure in grid("out_a1", NOTE_O).items():
        if name not in {"out_a1[1,1]", "out_a1[1,2]", "out_a1[2,2]"}:
            assert printed(values[name], figure), (name, values[name], figure)


def test_note_slips_in_the_fourth_digit_of_four_weights_and_carries_them_into_o() -> None:
    net, values = values_of(NOTE)
    # the slips: e^1.5 / (2e + e^1.5 + e^2) = 0.25895 printed 0.2588; e^1 / (2e^0.5 + 2e) = 0.31123 printed 0.3113
    # (row 4, the same row, prints 0.3112); row 3's e^1.5 / (...) = 0.42693 printed 0.4271
    assert printed(values["a_a1[1,3]"], "0.2589") and printed(values["a_a1[2,2]"], "0.3112")
    assert printed(values["a_a1[3,1]"], "0.4269")
    # O = PV from the note's own P: O[1,1] = 0.1570 + 0.2588 + 2 x 0.4269 = 1.2696 (true 1.2699),
    # O[1,2] = 0.1570 + 0.2588 + 0.4269 = 0.8427 (true 0.8429), O[2,2] = 0.3113 + 0.1887 + 0.3113 = 0.8113 (true 0.8112)
    p = np.array([[float(f) for f in row] for row in NOTE_P])
    own = p @ np.array(NOTE_V, dtype=float)
    for (i, j), figure in {(1, 1): "1.2696", (1, 2): "0.8427", (2, 2): "0.8113"}.items():
        assert printed(own[i - 1, j - 1], figure) and not printed(values[f"out_a1[{i},{j}]"], figure)
    # a careful marker: the four weights close (a slip in the last digit), the three outputs follow from them
    figures = grid("a_a1", NOTE_P) | grid("z_a1", NOTE_O)
    got = marks(net, figures)
    assert {name for name, verdict in got.items() if verdict == "close"} == {
        "a_a1[1,3]", "a_a1[2,2]", "a_a1[2,4]", "a_a1[3,1]"}
    assert {name for name, verdict in got.items() if verdict == "follows"} == {"z_a1[1,1]", "z_a1[1,2]", "z_a1[2,2]"}
    assert {verdict for verdict in got.values()} <= {"correct", "close", "follows"}


# Lynx Cortex, "05 - Full attention computation: length-4 sequence with numerical values"
# (https://lynx-cortex.pages.dev/phase-15-attention/theory/05-worked-length-4-attention/): X (4 tokens x 4),
# W_Q = W_K = 0.5 I, W_V = I, d_k = 4; it prints X X^T, Q K^T = 0.25 X X^T and the scaled scores QK^T / 2 (3 decimals).
LYNX_X = [[0.5, 0.3, -0.2, 0.1], [-0.1, 0.4, 0.2, -0.3], [0.2, -0.1, 0.5, 0.1], [0.0, 0.0, 0.0, 0.2]]
LYNX = {
    "loss": "half_squared_error", "step_reduction": "sum",
    "layers": [{"type": "sequence", "steps": 4, "features": 4},
               {"type": "attention", "output": "sequence", "key_size": 4, "bias": False,
                "weights_q": (0.5 * np.eye(4)).tolist(), "weights_k": (0.5 * np.eye(4)).tolist(),
                "weights_v": np.eye(4).tolist(), "weights_o": np.eye(4).tolist()}],
    "samples": [{"inputs": LYNX_X, "targets": [[0.0] * 4] * 4}]}
LYNX_XXT = [["0.39", "-0.04", "-0.01", "0.02"], ["-0.04", "0.30", "0.04", "-0.06"],
            ["-0.01", "0.04", "0.31", "0.02"], ["0.02", "-0.06", "0.02", "0.04"]]
LYNX_SCALED = [["0.049", "-0.005", "-0.002", "0.003"], ["-0.005", "0.038", "0.005", "-0.008"],
               ["-0.002", "0.005", "0.039", "0.003"], ["0.003", "-0.008", "0.003", "0.005"]]


def test_lynx_slips_in_three_dot_products_of_x_xt_and_its_scores_follow() -> None:
    net, values = values_of(LYNX)
    q = np.array([[values[f"q_a1[{t},{c}]"] for c in range(1, 5)] for t in range(1, 5)])
    k = np.array([[values[f"k_a1[{t},{c}]"] for c in range(1, 5)] for t in range(1, 5)])
    xxt = q @ k.T / 0.25  # X X^T from stepgrad's q and k (Q = K = X / 2)
    # the slips: x_I . x_will = -0.05 + 0.12 - 0.04 - 0.03 = 0.00 (printed -0.04), x_I . x_work = -0.02 (printed
    # -0.01), x_will . x_work = 0.01 (printed 0.04); the other seven entries (and their mirrors) are right
    wrong = {(1, 2), (2, 1), (1, 3), (3, 1), (2, 3), (3, 2)}
    for i in range(4):
        for j in range(4):
            rounds = abs(xxt[i, j] - float(LYNX_XXT[i][j])) <= 0.005 + 1e-12  # two decimals, rounded
            assert rounds != ((i + 1, j + 1) in wrong), (i, j, xxt[i, j])
    # the scaled scores divide by sqrt(d_k) = 2: stepgrad's scores are X X^T / 8; the printed ones the page's own
    # X X^T / 8, so (I, will) -0.04 / 8 = -0.005 and (will, work) 0.04 / 8 = 0.005 carry its slips
    for i in range(4):
        for j in range(4):
            own = float(LYNX_XXT[i][j]) / 8
            assert printed(own, LYNX_SCALED[i][j]) or abs(own - float(LYNX_SCALED[i][j])) <= 0.00075, (i, j)
            if (i + 1, j + 1) not in wrong:
                assert printed(values[f"score_a1[{i + 1},{j + 1}]"], LYNX_SCALED[i][j]), (i, j)
    # a careful marker: the scores built on a wrong dot product (I, will) and (will, work) are wrong; (I, work)'s
    # -0.002 is the true -0.0025 truncated, so it stands (too few digits); no other score is wrong
    got = marks(net, grid("score_a1", LYNX_SCALED))
    assert {name for name, verdict in got.items() if verdict == "wrong"} == {
        "score_a1[1,2]", "score_a1[2,1]", "score_a1[2,3]", "score_a1[3,2]"}


# akim42003/alexkode, problems/04-deep-learning/11-batch-normalization/README.md (GitHub), examples 1 and 2:
# x = [[1, 2], [3, 4], [5, 6]], gamma = 1, beta = 0 gives out = [[-1.2247, -1.2247], [0, 0], [1.2247, 1.2247]];
# with dout = ones(3, 2): dgamma = [0, 0], dbeta = [3, 3], dx ~ 0. Its dout is the gradient of the SUM of the
# per-sample losses; stepgrad's E_total is their mean, so the source's gradients are 3 x stepgrad's.
# The targets make dE/dout = out - target = 1 for every sample: target = xhat - 1, xhat computed here with numpy.
BN_X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
BN_XHAT = (BN_X - BN_X.mean(axis=0)) / np.sqrt(BN_X.var(axis=0) + 1e-5)
BATCHNORM = {
    "loss": "half_squared_error",
    "layers": [{"type": "input", "shape": [2]},
               {"type": "dense", "neurons": 2, "activation": "linear", "bias": False, "weights": np.eye(2).tolist()},
               {"type": "batchnorm", "mode": "training", "gamma": [1.0, 1.0], "beta": [0.0, 0.0]}],
    "samples": [{"inputs": row.tolist(), "targets": (xhat - 1).tolist()} for row, xhat in zip(BN_X, BN_XHAT)]}


def test_alexkode_batchnorm_forward_and_backward() -> None:
    _, values = values_of(BATCHNORM)
    for s, row in enumerate([["-1.2247", "-1.2247"], ["0", "0"], ["1.2247", "1.2247"]], 1):
        for f, figure in enumerate(row, 1):
            assert abs(values[f"out_n1[{f}][{s}]"] - float(figure)) <= 0.00005, (s, f)
    for f in (1, 2):
        assert abs(3 * values[f"dE_total/dbeta_n1[{f}]"] - 3.0) < 1e-12
        assert abs(3 * values[f"dE_total/dgamma_n1[{f}]"]) < 1e-12
        for s in (1, 2, 3):  # a uniform upstream gradient: the mean's path cancels the value's, dx = 0
            assert abs(3 * values[f"dE_total/dout_d1[{f}][{s}]"]) < 1e-12


# Ankitath1510/Building-LLM-From-Scratch (GitHub), its layer-normalization notebook: two data points of 5 numbers,
# mean, variance (1/N) and (x - mean) / sqrt(var + 1e-5) printed by Python in full.
LN_DATA = [[0.5, -1.2, 3.3, 0.8, -0.5], [2.0, -0.7, 1.2, -3.5, 0.6]]
LAYERNORM = {"loss": "half_squared_error",
             "layers": [{"type": "input", "shape": [5]}, {"type": "layernorm", "affine": False, "eps": 1e-5}],
             "samples": [{"inputs": row, "targets": [0.0] * 5} for row in LN_DATA]}
LN_PRINTED = {1: ("0.58", "2.3575999999999997",
                  [-0.05210195320817495, -1.1592684588818931, 1.771466409077949, 0.14328037132248123,
                   -0.7033763683103622]),
              2: ("-0.08", "3.7016",
                  [1.081105321539628, -0.3222525477666199, 0.6652955824859249, -1.7775866344545805,
                   0.3534382781956476])}


def test_ankitath_layernorm_forward_to_every_printed_digit() -> None:
    _, values = values_of(LAYERNORM)
    for s, (mean, variance, normalized) in LN_PRINTED.items():
        assert abs(values[f"mu_n1[1][{s}]"] - float(mean)) < 1e-15
        assert abs(values[f"var_n1[1][{s}]"] - float(variance)) < 1e-14
        for f, figure in enumerate(normalized, 1):
            assert abs(values[f"xhat_n1[{f}][{s}]"] - figure) < 1e-14, (s, f)


# R. J. Povinelli, Neural_Networks_Course, Attention_Backprop_Demo.ipynb (GitHub, RichardJPovinelli): "Backpropagation
# Through Scaled Dot-Product Attention". X (3 x 4), W_Q, W_K, W_V (4 x 4, used as X @ W), no output projection,
# L = 1/2 ||A - T||^2; its text says S = QK^T / sqrt(d_k) with d_k = 4, and it prints A, L, dL/dW_Q, dL/dW_K,
# dL/dW_V (3 significant digits) and a finite difference for W_Q[0,0]. stepgrad's weights are W^T (out x in).
POV_X = [[0.5, 0.2, 0.1, -0.1], [0.0, 0.3, -0.2, 0.2], [0.4, -0.1, 0.0, 0.3]]
POV_W = {"q": [[0.2, -0.1, 0.0, 0.3], [0.1, 0.0, 0.2, -0.2], [-0.1, 0.3, 0.1, 0.0], [0.0, 0.2, -0.2, 0.1]],
         "k": [[0.1, 0.2, 0.0, -0.1], [0.0, 0.1, 0.3, 0.0], [0.2, -0.2, 0.1, 0.1], [-0.1, 0.0, 0.2, 0.2]],
         "v": [[0.3, 0.1, 0.0, -0.2], [0.0, 0.2, 0.1, 0.0], [0.1, -0.1, 0.2, 0.1], [0.0, 0.1, -0.2, 0.3]]}
POV_T = [[0.10, 0.00, 0.05, -0.05], [0.00, 0.10, -0.05, 0.05], [0.05, -0.05, 0.10, 0.00]]
POV_A = [["8.67e-02", "7.33e-02", "-2.00e-02", "-2.34e-02"], ["8.69e-02", "7.33e-02", "-1.98e-02", "-2.36e-02"],
         ["8.68e-02", "7.32e-02", "-2.01e-02", "-2.33e-02"]]
POV_GRAD = {  # printed as dL/dW (in x out)
    "q": [["-2.54e-04", "-6.72e-05", "6.62e-05", "1.79e-04"], ["1.59e-04", "3.44e-05", "-6.72e-05", "-9.17e-05"],
          ["-1.86e-04", "-4.14e-05", "7.43e-05", "1.11e-04"], ["1.40e-04", "2.62e-05", "-7.27e-05", "-7.00e-05"]],
    "k": [["-3.46e-05", "-8.76e-06", "-5.94e-05", "-2.93e-04"], ["-4.36e-05", "2.58e-06", "2.59e-05", "-3.27e-05"],
          ["-2.71e-05", "-5.15e-06", "-3.39e-05", "-1.87e-04"], ["7.44e-05", "4.38e-06", "2.08e-05", "2.73e-04"]],
    "v": [["3.32e-02", "5.10e-02", "-4.80e-02", "-2.11e-02"], ["1.47e-02", "2.25e-02", "-2.12e-02", "-9.34e-03"],
          ["-3.64e-03", "-5.64e-03", "5.31e-03", "2.31e-03"], ["1.47e-02", "2.27e-02", "-2.14e-02", "-9.34e-03"]]}


def povinelli(scaled: bool) -> dict:
    weights = {f"weights_{r}": np.array(w).T.tolist() for r, w in POV_W.items()}
    return {"loss": "half_squared_error", "step_reduction": "sum",
            "layers": [{"type": "sequence", "steps": 3, "features": 4},
                       {"type": "attention", "output": "sequence", "key_size": 4, "bias": False, "scale": scaled,
                        "weights_o": np.eye(4).tolist(), **weights}],
            "samples": [{"inputs": POV_X, "targets": POV_T}]}


def povinelli_figures() -> dict[str, str]:
    figures = {f"out_a1[{t},{c}]": POV_A[t - 1][c - 1] for t in range(1, 4) for c in range(1, 5)}
    figures["E_total"] = "2.86e-02"
    for role, rows in POV_GRAD.items():
        figures |= {f"dE_total/dW{role}1[{o},{i}]": rows[i - 1][o - 1] for i in range(1, 5) for o in range(1, 5)}
    return figures


def test_povinelli_prints_every_figure_from_an_unscaled_run() -> None:
    _, unscaled = values_of(povinelli(scaled=False))
    _, scaled = values_of(povinelli(scaled=True))
    figures = povinelli_figures()
    for name, figure in figures.items():  # every printed figure is the run WITHOUT the 1/sqrt(d_k) its text states
        assert printed(unscaled[name], figure), (name, unscaled[name], figure)
    # with the scale (as the text says) dL/dW_Q and dL/dW_K are about half the printed ones: none of them is printed
    gradients = [n for n in figures if n.startswith("dE_total/dWq") or n.startswith("dE_total/dWk")]
    assert not any(printed(scaled[n], figures[n]) for n in gradients)
    assert all(0.4 < scaled[n] / unscaled[n] < 0.6 for n in gradients)
    # and four of its twelve outputs differ in the third digit: A[2,1] = 8.680e-02 with the scale, 8.694e-02 without
    assert {n for n in figures if n.startswith("out") and not printed(scaled[n], figures[n])} == {
        "out_a1[2,1]", "out_a1[2,3]", "out_a1[2,4]", "out_a1[3,1]"}
    # its finite difference for W_Q[0,0], -2.51e-04 against -2.54e-04, is float32 roundoff: L (2.86e-02) is held to
    # one unit of 2^-29, so (L+ - L-) / (2 x 1e-4) is uncertain by about 2^-29 / 2e-4 = 9.3e-06 per unit lost
    assert abs(-2.51e-04 - unscaled["dE_total/dWq1[1,1]"]) < 2.0 ** -29 / 2e-4


def test_povinelli_marked_against_its_own_text_names_the_scale() -> None:
    net, _ = values_of(povinelli(scaled=True))
    report = check(net, solution.loads("\n".join(f"{k} = {v}" for k, v in povinelli_figures().items())))
    got = {r.name: (r.verdict, r.mistake) for r in report.results}
    # the outputs that differ are wrong with the mistake named; no gradient of W_Q or W_K passes
    for name in ("out_a1[2,1]", "out_a1[2,3]", "out_a1[2,4]", "out_a1[3,1]"):
        assert got[name] == ("wrong", "attention_scale_forgotten"), name
    assert all(got[n][0] == "wrong" for n in got if n.startswith("dE_total/dWq") or n.startswith("dE_total/dWk"))
    assert sum(mistake == "attention_scale_forgotten" for _, mistake in got.values()) >= 20
    # and the whole sheet is named: every one of its 61 figures is right with scale = false
    hint = report.meta["hint"]
    assert "not divided by sqrt(d_k) (scale = false)" in hint and "61 of 61 correct there" in hint
