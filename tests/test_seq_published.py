"""Published worked examples of the sequence layers, reproduced figure by figure (each source cited).

A printed figure counts as reproduced when it is stepgrad's value rounded to the digits printed.
Where a source slips, the test names the slip and shows that the source's later figures follow from
its own wrong number (error carried forward, as a careful marker would mark it).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import named_values

# PracHub, "Backpropagation Through Time (BPTT) - Complete Walkthrough"
# (https://prachub.com/resources/detailed-backpropagation-walkthrough): x1 = 1, x2 = 2, h0 = 0, Wx = 0.5,
# Wh = 0.1, b = 0, y_t = Wy * h_t with Wy = 2, targets 1 and 2, L = 1/2 (y1 - 1)^2 + 1/2 (y2 - 2)^2.
PRACHUB = {
    "layers": [{"type": "sequence", "steps": 2, "features": 1},
               {"type": "rnn", "hidden": 1, "output": "sequence", "bias": False, "weights_x": [[0.5]],
                "weights_h": [[0.1]]},
               {"type": "dense", "neurons": 1, "activation": "linear", "bias": False, "weights": [[2.0]]}],
    "loss": "half_squared_error", "step_reduction": "sum", "samples": [{"inputs": [[1.0], [2.0]], "targets": [1.0, 2.0]}]}


def printed(value: float, figure: str) -> bool:
    """Whether `value` rounded or truncated to the decimals of `figure` ("0.4621", "-0.442") is `figure`."""
    unit = 10.0 ** Decimal(figure).as_tuple().exponent
    rounded = abs(value - float(figure)) <= 0.5 * unit * (1 + 1e-9)
    truncated = 0 <= abs(value) - abs(float(figure)) < unit and (value >= 0) == (float(figure) >= 0)
    return rounded or truncated


def last_digit_off(value: float, figure: str) -> bool:
    """A rounding slip: not `printed`, but within one unit of the figure's last printed digit."""
    unit = 10.0 ** Decimal(figure).as_tuple().exponent
    return not printed(value, figure) and abs(value - float(figure)) <= 1.5 * unit


def test_prachub_bptt_walkthrough_forward_figures_before_the_slip() -> None:
    net = LayerNetwork.from_dict(PRACHUB)
    values = named_values(net, engine.step(net, net.inputs, net.targets))
    for name, figure in [("h1_t1[1]", "0.4621"), ("out_d1[1,1]", "0.9242"), ("net_h1_t2[1]", "1.04621")]:
        assert printed(values[name], figure), (name, values[name], figure)
    # L1 = 1/2 (0.9242 - 1)^2 = 0.0028728...: printed 0.00288, the last digit off (a rounding slip)
    assert last_digit_off(values["E_d1[1,1]"], "0.00288")


def test_prachub_slips_in_tanh_of_step_2_and_carries_it_forward() -> None:
    net = LayerNetwork.from_dict(PRACHUB)
    values = named_values(net, engine.step(net, net.inputs, net.targets))
    # the slip: tanh(1.04621) is 0.78033, printed as 0.7790
    assert printed(values["h1_t2[1]"], "0.7803") and not printed(values["h1_t2[1]"], "0.7790")
    # every later figure of the source follows from its own h2 = 0.7790: recompute with it carried forward
    carried = net.copy()
    carried.layers[0].nudge = ("h", (0, 1, 0), 0.7790 - values["h1_t2[1]"])
    own = named_values(carried, engine.step(carried, carried.inputs, carried.targets))
    for name, figure in [("out_d1[2,1]", "1.558"), ("dE_total/dout_d1[2,1]", "-0.442"),
                         ("dE_total/dh1_t2[1]", "-0.884"), ("dh1_t2[1]/dnet_h1_t2[1]", "0.3931"),
                         ("dE_total/dnet_h1_t2[1]", "-0.3475")]:
        assert printed(own[name], figure), (name, own[name], figure)
    # L2 = 1/2 (1.558 - 2)^2 = 0.097682: printed 0.0978, again the last digit off; L = 0.1007 is its sum
    assert last_digit_off(own["E_d1[2,1]"], "0.0978") and printed(0.00288 + 0.0978, "0.1007")
    # its step-2 terms of the shared weights' gradients: dL/da2 * x2 and dL/da2 * h1 (with its -0.3475)
    assert printed(-0.3475 * 2.0, "-0.695") and printed(-0.3475 * values["h1_t1[1]"], "-0.1606")
    # and the true figures differ from the source's in the third or fourth digit
    assert not printed(values["out_d1[2,1]"], "1.558") and printed(values["out_d1[2,1]"], "1.5607")
    assert values["dE_total/dnet_h1_t2[1]"] == pytest.approx(-0.343641, abs=5e-7)
