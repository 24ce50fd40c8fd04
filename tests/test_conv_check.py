"""`check` on a conv + pool + dense problem: realistic student solutions with each classic mistake get
`wrong` with the mistake named, and what they compute from it afterwards `follows` (error carried forward).

Each student's numbers are computed here independently of the checker: the flipped-kernel student by
the engine on the same network with the other convolution convention, the pooling and skip-path
students by hand from the exact values (the sum over windows, without 1/4, without the skip term)."""

from __future__ import annotations

import pytest

from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.check import check, solution
from stepgrad.tracing.layered import explain_layers


def network(pool: str = "maxpool", residual: bool = False, convolution: str = "cross_correlation") -> LayerNetwork:
    layers = [{"type": "input", "shape": [1, 4, 4]},
              {"type": "conv2d", "out_channels": 1, "kernel": 2, "activation": "tanh",
               "weights": [[[[0.3, -0.5], [0.8, 0.2]]]], "biases": [0.1]}]
    if residual:
        layers.append({"type": "residual", "layers": [{"type": "conv2d", "out_channels": 1, "kernel": 3, "padding": 1,
                                                       "activation": "tanh", "weights": [[[[0.1, 0.2, -0.1],
                                                                                            [0.3, -0.2, 0.1],
                                                                                            [0.05, 0.1, 0.2]]]]}]})
    layers += [{"type": pool, "kernel": 2, "stride": 1}, {"type": "flatten"},
               {"type": "dense", "neurons": 2, "activation": "sigmoid",
                "weights": [[0.4, -0.3, 0.2, 0.5], [-0.6, 0.1, 0.3, -0.2]], "biases": [0.05, -0.05]}]
    return LayerNetwork.from_dict({
        "layers": layers, "convolution": convolution, "learning_rate": 0.5,
        "samples": [{"inputs": [[0.2, 0.7, 0.1, 0.4], [0.9, 0.3, 0.6, 0.8], [0.5, 0.1, 0.7, 0.2],
                                [0.3, 0.8, 0.4, 0.6]], "targets": [0.1, 0.9]}]})


def sheet(values: dict[str, float]) -> solution.Solution:
    return solution.loads("\n".join(f"{k} = {v:.8g}" for k, v in values.items()))


def verdicts(net: LayerNetwork, values: dict[str, float]) -> dict[str, tuple[str, str | None]]:
    report = check(net, sheet(values))
    return {r.name: (r.verdict, r.mistake) for r in report.results}


def test_correct_work_is_correct() -> None:
    net = network()
    exact = explain_layers(net).values
    wanted = {k: v for k, v in exact.items() if k.startswith(("net_c1", "out_p1", "dE_total/dk1", "k1["))}
    assert {v for v, _ in verdicts(net, wanted).values()} == {"correct"}


def test_flipped_kernel_is_named_and_carried_forward() -> None:
    net = network()
    flipped = explain_layers(network(convolution="convolution")).values  # the student turned the kernel
    exact = explain_layers(net).values
    answers = {"net_c1[1,1,1]": flipped["net_c1[1,1,1]"], "out_c1[1,1,1]": flipped["out_c1[1,1,1]"]}
    got = verdicts(net, answers)
    assert got["net_c1[1,1,1]"] == ("wrong", "kernel_flipped")
    assert got["out_c1[1,1,1]"][0] == "follows"
    # a kernel weight's gradient written for its mirror
    got = verdicts(net, {"dE_total/dk1[1,1,1,1]": exact["dE_total/dk1[1,1,2,2]"]})
    assert got["dE_total/dk1[1,1,1,1]"] == ("wrong", "kernel_flipped")


def _windows(cell: tuple[int, int]):
    """The 2x2 stride-1 windows (of out_p1's 2x2 positions) holding a cell of the 3x3 map."""
    r, c = cell
    return [(i, j) for i in (1, 2) for j in (1, 2) if i <= r <= i + 1 and j <= c <= j + 1]


def test_max_pool_gradient_to_every_cell() -> None:
    net = network()
    exact = explain_layers(net).values
    # a cell that is no window's maximum: correct work gives it 0; every-cell gives it every window's gradient
    cells = [(r, c) for r in (1, 2, 3) for c in (1, 2, 3) if exact[f"dE_total/dout_c1[1,{r},{c}]"] == 0]
    assert cells
    r, c = cells[0]
    spread = sum(exact[f"dE_total/dout_p1[1,{i},{j}]"] for i, j in _windows((r, c)))
    report = check(net, sheet({f"dE_total/dout_c1[1,{r},{c}]": spread}))
    assert (report.results[0].verdict, report.results[0].mistake) == ("wrong", "maxpool_all_cells")
    assert "also fits: max-pool gradient sent to the wrong cell" in str(report.results[0].diagnosis)


def test_max_pool_gradient_to_the_wrong_cell() -> None:
    net = network()
    exact = explain_layers(net).values

    def winner(window):  # the first largest cell of a window, in reading order
        i, j = window
        cells = [(i + a, j + b) for a in (0, 1) for b in (0, 1)]
        return max(cells, key=lambda cell: (exact[f"out_c1[1,{cell[0]},{cell[1]}]"], -cells.index(cell)))

    # the student routes each window's gradient to a cell that is not its maximum: a winning cell loses
    # the windows it won and gets those it did not
    for r, c in [(r, c) for r in (1, 2, 3) for c in (1, 2, 3)]:
        won = [w for w in _windows((r, c)) if winner(w) == (r, c)]
        lost = [w for w in _windows((r, c)) if winner(w) != (r, c)]
        if won and lost:
            break
    else:
        pytest.fail("no cell wins one window and loses another")
    value = sum(exact[f"dE_total/dout_p1[1,{i},{j}]"] for i, j in lost)
    name = f"dE_total/dout_c1[1,{r},{c}]"
    assert verdicts(net, {name: value})[name] == ("wrong", "maxpool_wrong_cell")


def test_average_pool_without_its_quarter() -> None:
    net = network(pool="avgpool")
    exact = explain_layers(net).values
    total = sum(exact[f"out_c1[1,{r},{c}]"] for r in (1, 2) for c in (1, 2))  # the window's sum, not its mean
    got = verdicts(net, {"out_p1[1,1,1]": total})
    assert got["out_p1[1,1,1]"] == ("wrong", "avgpool_without_scale")
    gradient = sum(exact[f"dE_total/dout_p1[1,{i},{j}]"] for i, j in _windows((2, 2)))  # no 1/4
    got = verdicts(net, {"dE_total/dout_c1[1,2,2]": gradient})
    assert got["dE_total/dout_c1[1,2,2]"] == ("wrong", "avgpool_without_scale")


def test_skip_path_forgotten() -> None:
    net = network(residual=True)
    exact = explain_layers(net).values
    # c1's out feeds the block (c2) and the skip path into r1: the student kept only the block's share
    r, c = max(((r, c) for r in (1, 2, 3) for c in (1, 2, 3)), key=lambda p: abs(exact[f"dE_total/dnet_r1[1,{p[0]},{p[1]}]"]))
    name = f"dE_total/dout_c1[1,{r},{c}]"
    block_only = exact[name] - exact[f"dE_total/dnet_r1[1,{r},{c}]"]
    got = verdicts(net, {name: block_only})
    assert got[name] == ("wrong", "skip_gradient_forgotten")


@pytest.mark.parametrize("key", ["kernel_flipped", "maxpool_all_cells", "maxpool_wrong_cell", "avgpool_without_scale",
                                 "skip_gradient_forgotten"])
def test_diagnoses_are_registered_for_layer_networks_only(key: str) -> None:
    from stepgrad.teach.check.diagnoses import MISTAKES

    entry = next(m for m in MISTAKES if m.key == key)
    assert entry.networks == ("layers",)
