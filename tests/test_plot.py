"""The loss curve: PNG and SVG written atomically, a log-scale error axis, one line per update order
with its iteration count, and a clear message when matplotlib is missing."""

from __future__ import annotations

import builtins
import struct
import xml.etree.ElementTree as ET

import pytest

import stepgrad
from stepgrad.core.errors import StepgradError
from stepgrad.pictures.plot import plot_histories
from stepgrad.training.loop import train


@pytest.fixture(scope="module")
def histories():
    net = stepgrad.builtin()
    return [train(net, 2000, update_order=order, every=20) for order in ("synchronous", "sequential")]


def test_png(histories, tmp_path):
    path = tmp_path / "loss.png"
    plot_histories(histories, str(path))
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert 400 < width < 2000 and 250 < height < 1500
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]  # no temporary file left


def test_svg_has_both_orders_a_log_axis_and_the_iteration_count(histories, tmp_path):
    path = tmp_path / "loss.svg"
    plot_histories(histories, str(path))
    svg = path.read_text()
    ET.fromstring(svg)
    # text is drawn as glyph paths; matplotlib keeps each text's string in a comment
    for text in ("synchronous", "sequential", "2,000 iterations", "E_total", "iteration"):
        assert text in svg, text
    assert svg.count("10^{-") >= 2 or "10^{−" in svg  # log-scale tick labels $\mathdefault{10^{-2}}$


@pytest.mark.slow  # the command line with matplotlib; plot_histories is checked in process
def test_train_both_orders_plot_from_the_cli(cli, tmp_path):
    path = tmp_path / "loss.svg"
    result = cli("train", "--iterations", "500", "--update-order", "both", "--plot", str(path))
    assert result.returncode == 0, result.stderr
    svg = path.read_text()
    assert "synchronous" in svg and "sequential" in svg and "500 iterations" in svg


def test_wrong_suffix_is_refused(histories, tmp_path):
    with pytest.raises(StepgradError, match=r"\.png or \.svg"):
        plot_histories(histories, str(tmp_path / "loss.jpg"))


def test_missing_matplotlib_says_how_to_install(histories, tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(StepgradError) as info:
        plot_histories(histories, str(tmp_path / "loss.png"))
    assert "pip install 'stepgrad[plot]'" in str(info.value)
    assert not list(tmp_path.iterdir())


def test_history_shows_itself_in_a_notebook(histories):
    html = histories[0]._repr_html_()
    root = ET.fromstring(html)
    rows = root.findall("tr")
    assert rows[1].findall("td")[0].text == "0"
    assert float(rows[1].findall("td")[1].text) == pytest.approx(0.298371109, abs=1e-6)  # the deck's E_total
    assert "2,000 iterations" in root.find("caption").text
