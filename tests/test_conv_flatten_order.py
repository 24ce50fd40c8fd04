"""A student who flattens the pooled (C, H, W) map in another order than PyTorch's row-major one: the flatten (or,
when the flattened vector is not written, the dense layer's net) is wrong with flatten_order named, and the dense
layer computed from the student's own vector follows; backward, the map's error signals read back in the student's
order are the same mistake.

The students are tests/conv_students.py's (plain Python loops, independent of stepgrad), on the problem of
test_conv_students.py: 2 channels, a 3x3 conv map, a 2x2 max-pool of stride 1: a 2x2x2 map flattened to 8.
"""

from __future__ import annotations

import numpy as np
import pytest

from conv_students import FLATTEN_ORDERS, Slips, solve
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.check import check, solution
from test_conv_students import problem


def marked(slips: Slips, **variant) -> dict[str, tuple[str, str | None, str]]:
    p = problem(**variant)
    sheet = solve(p, slips)
    report = check(LayerNetwork.from_dict(p.spec()), solution.loads("\n".join(f"{k} = {v:.6g}" for k, v in sheet.items())))
    assert report.answered == len(sheet)
    return {r.name: (r.verdict, r.mistake, str(r.diagnosis)) for r in report.results}


def test_the_student_orders_are_the_readings_numpy_gives() -> None:
    """The students' orders, independently: numpy's transposes of a (C, H, W) array of cell keys."""
    keys = [(o, r, c) for o in range(2) for r in range(2) for c in range(2)]
    cells = np.arange(8).reshape(2, 2, 2)
    want = {"row": cells.ravel(), "columns": cells.transpose(0, 2, 1).ravel(),
            "channels_last": cells.transpose(1, 2, 0).ravel()}
    for order, expected in want.items():
        got = [keys.index(k) for k in sorted(keys, key=FLATTEN_ORDERS[order])]
        assert got == expected.tolist()


@pytest.mark.parametrize("order", ["columns", "channels_last"])
def test_the_flattened_vector_written_in_another_order(order: str) -> None:
    got = marked(Slips(flatten=order, write_flatten=True))
    flat = [n for n in got if n.startswith("out_f1")]
    wrong = [n for n in flat if got[n][0] == "wrong"]
    moved = [n for n in flat if got[n][0] != "correct"]
    assert moved and wrong == moved  # cells the order keeps in place are correct
    assert all(got[n][1] == "flatten_order" for n in wrong), {n: got[n] for n in wrong}
    reading = "column by column" if order == "columns" else "channels last"
    assert all(reading in got[n][2] for n in wrong)
    # the dense layer from the student's own vector follows; the backward pass read back in the same order
    assert all(got[n][0] == "follows" for n in got if n.startswith(("net_d1", "out_d1")))
    backward = [n for n in got if n.startswith("dE_total/dout_p1") and got[n][0] == "wrong"]
    assert all(got[n][1] == "flatten_order" for n in backward), {n: got[n] for n in backward}
    rest = {n: v for n, v in got.items() if v[0] not in ("correct", "follows") and n not in wrong + backward}
    assert not rest


@pytest.mark.parametrize("order", ["columns", "channels_last"])
def test_the_flattened_vector_not_written(order: str) -> None:
    """The mistake enters at the dense layer's nets: they are wrong with flatten_order named; what follows follows."""
    got = marked(Slips(flatten=order))
    nets = [n for n in got if n.startswith("net_d1")]
    assert all(got[n][:2] == ("wrong", "flatten_order") for n in nets), {n: got[n] for n in nets}
    assert all(got[n][0] == "follows" for n in got if n.startswith("out_d1"))
    bad = {n: v for n, v in got.items() if v[0] not in ("correct", "follows") and v[1] != "flatten_order"}
    assert not bad


def test_a_one_channel_map_read_column_by_column() -> None:
    """One channel (column-major and column by column are the same reading): named once, either way."""
    from conv_students import Problem
    from test_conv_students import WEIGHTS, X

    p = Problem(inputs=[[X[0]]], targets=[[0.1, 0.9]], kernel=[[[[0.3, -0.5], [0.8, 0.2]]]], bias=[0.1], stride=1,
                padding=0, pool="avg", pool_kernel=2, pool_stride=1, weights=[WEIGHTS[0][:4], WEIGHTS[1][:4]],
                dense_bias=[0.05, -0.05], learning_rate=0.5)
    sheet = solve(p, Slips(flatten="columns", write_flatten=True))
    report = check(LayerNetwork.from_dict(p.spec()), solution.loads("\n".join(f"{k} = {v:.6g}" for k, v in sheet.items())))
    wrong = [r for r in report.results if r.verdict == "wrong"]
    assert wrong and all(r.mistake == "flatten_order" for r in wrong)
    assert all(r.verdict in ("correct", "follows") for r in report.results if r.name.startswith(("net_d1", "out_d1")))


def test_the_correct_order_is_correct() -> None:
    got = marked(Slips(write_flatten=True))
    assert {v for v, _, _ in got.values()} == {"correct"}


def test_a_1d_map_flattened_channels_last() -> None:
    """A conv1d network (conv_gallery's seed 29: conv1d, a residual block, flatten, dense): the flattened vector
    read (position, channel); every later step their formula on their own numbers (the trace's formulas evaluated
    with Python's math, independent of the checker)."""
    from conv_gallery import random_spec
    from rounded_students import evaluate
    from stepgrad.tracing.layered import explain_layers

    net = LayerNetwork.from_dict(random_spec(29))
    flat = next(layer for layer in net.layers if layer.kind == "flatten")
    channels, length = flat.in_shape
    assert channels > 1
    moved = np.arange(channels * length).reshape(channels, length).T.ravel()  # the cell the student puts at u
    trace = explain_layers(net)
    sources = {s.name: s.operands[0] for s in trace if s.name.startswith("out_f1")}
    order = list(sources)
    v: dict[str, float] = {}
    for step in trace:
        v[step.name] = evaluate(step.text, v) if step.text else step.value
        if step.name in sources:
            v[step.name] = v[sources[order[int(moved[order.index(step.name)])]]]
    sheet = "\n".join(f"{s.name} = {v[s.name]:.6g}" for s in trace if s.text and s.name != "E_total+")
    report = check(net, solution.loads(sheet))
    got = {r.name: (r.verdict, r.mistake, r.diagnosis) for r in report.results}
    wrong = [n for n in got if got[n][0] == "wrong"]
    assert wrong and all(got[n][1] == "flatten_order" and "channels last" in str(got[n][2]) for n in wrong)
    assert all(n.startswith("out_f1") for n in wrong)
    assert {v for v, _, _ in got.values()} <= {"correct", "follows", "wrong"}
