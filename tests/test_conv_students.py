"""`check` marks whole hand-computed solutions of a conv + pool + dense problem, one student per classic mistake:
the line where the mistake enters is `wrong` with the mistake named, everything the student computed from it
afterwards `follows` (error carried forward), everything else is `correct`.

The students' sheets come from tests/conv_students.py: a plain-Python hand calculation with the mistakes as
switches, independent of stepgrad's engine (the correct student is held to the checker's exact values first).
Conventions of the problem: cross-correlation (PyTorch's), conv c1 with 2 input and 2 output channels, a 2x2
kernel, stride 2 and padding 1 (zeros), tanh; a 2x2 max-pool of stride 1 (ties: the first largest cell in
reading order), flatten channel by channel, a dense sigmoid layer, half squared error, learning rate 0.5.
"""

from __future__ import annotations

import pytest

from conv_students import Problem, Slips, solve
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.check import check, solution

X = [[[0.2, 0.7, 0.1, 0.4], [0.9, 0.3, 0.6, 0.8], [0.5, 0.1, 0.7, 0.2], [0.3, 0.8, 0.4, 0.6]],
     [[0.6, 0.2, 0.5, 0.9], [0.1, 0.4, 0.8, 0.3], [0.7, 0.9, 0.2, 0.5], [0.4, 0.6, 0.3, 0.1]]]
KERNEL = [[[[0.3, -0.5], [0.8, 0.2]], [[-0.4, 0.6], [0.1, 0.7]]],
          [[[0.5, 0.2], [-0.3, 0.4]], [[0.2, -0.6], [0.9, -0.1]]]]
WEIGHTS = [[0.4, -0.3, 0.2, 0.5, -0.2, 0.3, 0.1, -0.4], [-0.6, 0.1, 0.3, -0.2, 0.5, -0.1, 0.4, 0.2]]


def problem(pool: str = "max", residual: bool = False, samples: int = 1, stride: int = 2, padding: int = 1) -> Problem:
    second = [[[round(1 - v, 2) for v in row] for row in plane] for plane in X]
    return Problem(inputs=[X, second][:samples], targets=[[0.1, 0.9], [0.8, 0.3]][:samples], kernel=KERNEL,
                   bias=[0.1, -0.1], stride=stride, padding=padding, pool=pool, pool_kernel=2, pool_stride=1,
                   weights=WEIGHTS, dense_bias=[0.05, -0.05], learning_rate=0.5,
                   residual_kernel=[[[[0.1, 0.2, -0.1], [0.3, -0.2, 0.1], [0.05, 0.1, 0.2]],
                                     [[0.2, -0.1, 0.1], [0.0, 0.1, -0.2], [0.1, 0.05, 0.1]]],
                                    [[[-0.1, 0.1, 0.2], [0.1, 0.2, 0.1], [0.2, -0.1, 0.05]],
                                     [[0.1, 0.1, -0.2], [0.3, -0.1, 0.1], [0.0, 0.2, 0.1]]]] if residual else None)


DIAGNOSES: dict[str, str] = {}  # the last marked sheet's diagnoses, by name


def mark(p: Problem, slips: Slips | None = None) -> dict[str, tuple[str, str | None]]:
    """name -> (verdict, mistake key) for the student's sheet, each value written to 6 significant digits."""
    sheet = solve(p, slips)
    report = check(LayerNetwork.from_dict(p.spec()), solution.loads("\n".join(f"{k} = {v:.6g}" for k, v in sheet.items())))
    assert report.answered == len(sheet)
    DIAGNOSES.clear()
    DIAGNOSES.update({r.name: str(r.diagnosis) for r in report.results})
    return {r.name: (r.verdict, r.mistake) for r in report.results}


def assert_marked(got: dict[str, tuple[str, str | None]], mistake: str, wrong: list[str]) -> None:
    """The lines in `wrong` are wrong with `mistake` named (leading on most of them; where another mistake gives the
    same number, as "also fits"); the others correct or follows; some follow."""
    from stepgrad.teach.check.verdicts import MISTAKES_BY_KEY

    label = MISTAKES_BY_KEY[mistake].label
    for name in wrong:
        assert got[name][0] == "wrong" and (got[name][1] == mistake or f"also fits: {label}" in DIAGNOSES[name] or
                                            f"; {label}" in DIAGNOSES[name]), (name, got[name], DIAGNOSES[name])
    assert sum(got[name][1] == mistake for name in wrong) > len(wrong) / 2
    others = {name: v for name, v in got.items() if name not in wrong}
    bad = {name: v for name, v in others.items() if v[0] not in ("correct", "follows")}
    assert not bad
    assert any(v == "follows" for v, _ in others.values())


@pytest.mark.parametrize("variant", [{}, {"pool": "avg"}, {"residual": True}, {"samples": 2}])
def test_correct_student_is_correct(variant) -> None:
    got = mark(problem(**variant))
    assert {v for v, _ in got.values()} == {"correct"}, {k: v for k, v in got.items() if v[0] != "correct"}


def kernel_gradients(p: Problem) -> list[str]:
    tag = "" if len(p.inputs) == 1 else "[1]"
    return [f"dE_total{tag}/dk1[{o},{i},{r},{c}]" for o in (1, 2) for i in (1, 2) for r in (1, 2) for c in (1, 2)]


def names_like(got: dict, prefix: str) -> list[str]:
    return [name for name in got if name.startswith(prefix)]


def wrong_of(got: dict) -> dict:
    return {k: v for k, v in got.items() if v[0] not in ("correct", "follows")}


def test_flipped_kernel() -> None:
    """True convolution where the problem says cross-correlation: every net_c1 is the flipped kernel's, and each
    kernel weight's gradient is the one of the entry where the student applied it (its mirror)."""
    got = mark(problem(), Slips(flip=True))
    wrong = names_like(got, "net_c1") + kernel_gradients(problem())
    wrong = [name for name in wrong if got[name][0] == "wrong"]  # a flipped kernel may meet the same input somewhere
    assert len(wrong) > 20
    assert_marked(got, "kernel_flipped", wrong)


def test_stride_off_in_the_backward_pass() -> None:
    """Forward right; dE_total/dk1 matched each output position to the inputs with stride 1 (the layer's is 2)."""
    got = mark(problem(), Slips(backward_stride=1))
    wrong = [name for name in kernel_gradients(problem()) if got[name][0] != "correct"]
    assert len(wrong) >= 8
    assert_marked(got, "stride_off", wrong)


def test_padding_forgotten_in_the_backward_pass() -> None:
    """Forward right (padding 1); dE_total/dk1 read the input as if unpadded."""
    got = mark(problem(), Slips(backward_padding=0))
    wrong = [name for name in kernel_gradients(problem()) if got[name][0] != "correct"]
    assert len(wrong) >= 8
    assert_marked(got, "padding_off", wrong)


def test_max_pool_gradient_to_every_cell() -> None:
    got = mark(problem(), Slips(pool_route="all"))
    wrong = [name for name in names_like(got, "dE_total/dout_c1") if got[name][0] != "correct"]
    assert wrong
    assert_marked(got, "maxpool_all_cells", wrong)


def test_max_pool_gradient_to_the_row_major_neighbour() -> None:
    got = mark(problem(), Slips(pool_route="next"))
    wrong = [name for name in names_like(got, "dE_total/dout_c1") if got[name][0] != "correct"]
    assert wrong
    assert_marked(got, "maxpool_wrong_cell", wrong)


def test_average_pool_without_its_quarter() -> None:
    got = mark(problem(pool="avg"), Slips(avg_unscaled=True))
    wrong = names_like(got, "dE_total/dout_c1")
    assert_marked(got, "avgpool_without_scale", wrong)


def test_skip_path_forgotten() -> None:
    got = mark(problem(residual=True), Slips(skip_forgotten=True))
    wrong = [name for name in names_like(got, "dE_total/dout_c1") if got[name][0] != "correct"]
    assert wrong
    assert_marked(got, "skip_gradient_forgotten", wrong)


def test_kernel_gradient_summed_across_output_channels() -> None:
    got = mark(problem(), Slips(channels_summed=True))
    wrong = kernel_gradients(problem())
    assert_marked(got, "channels_summed", wrong)


def test_batch_summed_instead_of_averaged() -> None:
    p = problem(samples=2)
    got = mark(p, Slips(batch_summed=True))
    wrong = [f"dE_total/dk1[{o},{i},{r},{c}]" for o in (1, 2) for i in (1, 2) for r in (1, 2) for c in (1, 2)]
    assert_marked(got, "batch_mean_vs_sum", wrong + ["dE_total/db_c1[1]", "dE_total/db_c1[2]"])


def test_a_slip_of_the_students_own_is_carried_forward() -> None:
    """An arithmetic slip in net_c1[1,2,2] (0.0137 too much): that line is wrong with no known mistake named, and
    everything computed from it follows, through the max-pool routed by the student's own maxima."""
    got = mark(problem(), Slips(slip={"net_c1[1,2,2]": 0.0137}))
    assert got["net_c1[1,2,2]"] == ("wrong", None)
    others = {k: v for k, v in got.items() if k != "net_c1[1,2,2]"}
    assert {v for v, _ in others.values()} == {"correct", "follows"}
    assert got["out_c1[1,2,2]"][0] == "follows"


def test_max_pool_tie_given_to_the_last_cell() -> None:
    """A tie in a max-pool window (equal columns of the input give equal nets): the spec's rule (PyTorch's) gives
    the gradient to the first largest cell in reading order; this student gives it to the last."""
    x = [[[0.4, 0.4, 0.4, 0.1], [0.9, 0.9, 0.9, 0.6], [0.2, 0.2, 0.2, 0.7], [0.5, 0.5, 0.5, 0.3]]]
    p = Problem(inputs=[x], targets=[[0.1, 0.9]], kernel=[[[[0.3, -0.5], [0.8, 0.2]]]], bias=[0.1], stride=1,
                padding=0, pool="max", pool_kernel=2, pool_stride=1, weights=[WEIGHTS[0][:4], WEIGHTS[1][:4]],
                dense_bias=[0.05, -0.05], learning_rate=0.5)
    exact = solve(p)
    assert exact["out_c1[1,1,1]"] == exact["out_c1[1,1,2]"]  # the tie
    assert {v for v, _ in mark(p).values()} == {"correct"}  # the first largest cell: correct work
    got = mark(p, Slips(pool_route="last"))
    wrong = [name for name in names_like(got, "dE_total/dout_c1") if got[name][0] != "correct"]
    assert wrong
    assert_marked(got, "maxpool_wrong_cell", wrong)
    assert any("on a tie the last largest cell" in DIAGNOSES[name] for name in wrong)
