"""The seed deck's published figures (issue 2's table), from the API and from the CLI's JSON.

The expected numbers are the deck's (and, where the deck has a slip, the correct value to 9
significant digits as the issue states them); they are typed in here, never copied from output.
"""

from __future__ import annotations

import json

import pytest

import stepgrad
from stepgrad.formats.formula import number

FORWARD = {
    "net_h1": 0.3775, "out_h1": 0.593269992, "out_h2": 0.596884378,
    "out_o1": 0.75136507, "out_o2": 0.772928465, "E_total": 0.298371109,
}
GRADIENTS = [0.000438568, 0.000877135, 0.000497713, 0.000995425,
             0.082167041, 0.082667628, -0.022602540, -0.022740242]
NEW_WEIGHTS = [0.149780716, 0.199561432, 0.249751144, 0.299502287,
               0.358916480, 0.408666186, 0.511301270, 0.561370121]
AFTER = {"synchronous": 0.291027774, "sequential": 0.291027924}
TRAINED = {
    "synchronous": (0.015913620, 0.984064274, 3.51019e-05),
    "sequential": (0.015912196, 0.984065734, 3.50848e-05),
}


def same(value: float, published: float, digits: int | None = None) -> bool:
    """True when value, rounded as the published figure is written, is that figure.

    Figures in decimal notation are compared at their number of decimal places (the deck writes
    0.000438568 and 0.082167041: 9 decimals); figures in exponent notation, or when `digits` is
    given, at that many significant digits.
    """
    written = repr(published)
    if digits is None and "e" in written:
        digits = len(written.split("e")[0].replace(".", "").replace("-", "").lstrip("0"))
    if digits is not None:
        return float(number(value, digits)) == published
    decimals = len(written.split(".")[1]) if "." in written else 0
    return round(value, decimals) == published


def appears(figure: str, text: str) -> bool:
    """True when some number printed in `text` rounds to the published `figure`."""
    import re

    return any(same(float(m), float(figure)) if "e" not in figure else same(float(m), float(figure))
               for m in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", text))


def check_step_values(values: dict[str, float], order: str) -> None:
    for name, expected in FORWARD.items():
        assert same(values[name], expected), name
    for k, expected in enumerate(GRADIENTS, start=1):
        assert same(values[f"dE_total/dw{k}"], expected), f"dE_total/dw{k}"
    assert same(values["E_total+"], AFTER[order])


@pytest.mark.parametrize("order", ["synchronous", "sequential"])
def test_api_one_step(order):
    trace = stepgrad.explain(stepgrad.builtin(), update_order=order)
    values = trace.values
    if order == "synchronous":
        check_step_values(values, order)
        for k, expected in enumerate(NEW_WEIGHTS, start=1):
            assert same(values[f"w{k}+"], expected), f"w{k}+"
    else:
        # Sequential: w5..w8 are the same; w1..w4 come from the updated w5..w8, so they differ.
        for k in range(5, 9):
            assert same(values[f"w{k}+"], NEW_WEIGHTS[k - 1])
        assert not same(values["w1+"], NEW_WEIGHTS[0])
        assert values["dnet_o1/dout_h1"] == pytest.approx(NEW_WEIGHTS[4], rel=1e-8)
        assert same(values["E_total+"], AFTER[order])


def test_deck_chain_factors():
    """The deck's intermediate factors for w5 and w1 (where its digits are right)."""
    v = stepgrad.explain(stepgrad.builtin()).values
    assert same(v["dE_total/dout_o1"], 0.74136507)
    assert same(v["dout_o1/dnet_o1"], 0.186815602)
    assert same(v["dE_o1/dnet_o1"], 0.138498562)
    assert same(v["dE_o1/dout_h1"], 0.055399425)
    assert same(v["dE_o2/dnet_o2"], -0.03809824)  # the deck truncates: -0.03809823
    assert same(v["dE_o2/dout_h1"], -0.019049118)
    assert same(v["dE_total/dout_h1"], 0.036350306)
    assert same(v["dout_h1/dnet_h1"], 0.241300709)
    assert same(v["net_o1"], 1.105905967)
    assert same(v["net_o2"], 1.224921404)  # the deck: 1.22492136, from out_h1 mistyped as 0.59326992
    assert same(v["E_o1"], 0.274811083)
    assert same(v["E_o2"], 0.023560026)


@pytest.mark.parametrize("order", ["synchronous", "sequential"])
def test_api_training(order):
    history = stepgrad.train(stepgrad.builtin(), 10_000, update_order=order, every=1000)
    o1, o2, error = TRAINED[order]
    out = history.network_outputs()[0]
    assert same(out[0], o1) and same(out[1], o2)
    assert same(history.final_error, error, 6)


@pytest.mark.parametrize("order", ["synchronous", "sequential"])
def test_cli_json_one_step(cli, order):
    result = cli("explain", "--format", "json", "--update-order", order)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    check_step_values(data["values"], order) if order == "synchronous" else None
    assert same(data["values"]["E_total+"], AFTER[order])
    assert data["meta"]["update_order"] == order
    names = [s["name"] for sec in data["sections"] for s in sec["steps"]]
    assert names == list(data["values"])


@pytest.mark.parametrize("order", ["synchronous", "sequential"])
def test_cli_json_training(cli, order):
    result = cli("train", "--iterations", "10000", "--update-order", order, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    o1, o2, error = TRAINED[order]
    assert same(data["values"]["out_o1"], o1)
    assert same(data["values"]["out_o2"], o2)
    assert same(data["values"]["E_total"], error, 6)
    assert data["history"][0]["iteration"] == 0
    assert same(data["history"][0]["E_total"], FORWARD["E_total"])


def test_cli_example_file_is_the_builtin(cli):
    from tests.conftest import ROOT

    shipped = ROOT / "examples" / "mazur.toml"
    packaged = ROOT / "src" / "stepgrad" / "examples" / "mazur.toml"
    assert shipped.read_text() == packaged.read_text()
    result = cli("explain", str(shipped), "--format", "json")
    assert result.returncode == 0, result.stderr
    check_step_values(json.loads(result.stdout)["values"], "synchronous")


def test_main_job_reproduces_the_deck(cli):
    result = cli()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for figure in ["0.593269992", "0.75136507", "0.298371109", "0.082167041", "0.35891648",
                   "0.000438568", "0.291027774", "0.291027924", "0.984065734", "0.984064274",
                   "0.015912196", "0.015913620", "0.000035085"]:  # E_total after training: 9 decimals too
        assert appears(figure, out), figure
    assert "sequential" in out and "synchronous" in out
