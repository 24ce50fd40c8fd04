"""Plots that show what matters: both update orders get a difference panel and legends that tell the
final errors apart; data-set runs count epochs; every panel has a title; the PNG is fit for slides."""

from __future__ import annotations

import re

import pytest

import stepgrad
from stepgrad.pictures.plot import _telling_digits, plot_histories
from stepgrad.training.loop import train

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def both():
    net = stepgrad.builtin()
    return [train(net, 3000, update_order=order, every=50) for order in ("synchronous", "sequential")]


def titles(svg: str) -> list[str]:
    """The axes titles: matplotlib keeps each text's string in a comment before its glyphs."""
    return re.findall(r'<g id="text_\d+">\s*<!-- ([^>]*?) -->', svg)


def test_both_orders_show_their_difference_and_distinct_legends(both, tmp_path):
    path = tmp_path / "loss.svg"
    plot_histories(both, str(path))
    svg = path.read_text()
    assert "Difference: E_total(sequential) − E_total(synchronous)" in svg
    finals = [h.errors[-1] for h in both]
    digits = _telling_digits(finals)
    shown = [f"{e:#.{digits}g}" for e in finals]
    assert shown[0] != shown[1] and all(s in svg for s in shown)
    # the difference the panel plots is the runs' difference (from the histories, an independent sum)
    assert f"{finals[1] - finals[0]:.3g}"[:4] in svg


def test_every_panel_has_a_title_and_png_is_wide(both, tmp_path):
    path = tmp_path / "loss.svg"
    plot_histories(both, str(path))
    svg = path.read_text()
    assert svg.count("E_total over 3,000 iterations") >= 1 and svg.count("Difference:") >= 1
    png = tmp_path / "loss.png"
    plot_histories(both, str(png))
    image = pytest.importorskip("PIL.Image").open(png)
    assert image.width >= 1200


def test_telling_digits():
    assert _telling_digits([3.5101e-05, 3.5079e-05]) == 4
    assert _telling_digits([0.123456, 0.123457]) == 6
    assert _telling_digits([1.0, 1.0]) == 3


@pytest.mark.slow
def test_data_set_runs_count_epochs(cli, tmp_path):
    path = tmp_path / "digits.svg"
    result = cli("train", "--data", "digits", "--epochs", "3", "--batch-size", "64", "--seed", "0",
                 "--plot", str(path))
    assert result.returncode == 0, result.stderr
    svg = path.read_text()
    assert "Loss over 3 epochs" in svg and "Accuracy by epoch" in svg
    assert "<!-- epoch -->" in svg and "<!-- iteration -->" not in svg
