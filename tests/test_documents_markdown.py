"""Markdown on the gallery networks: every value present (read back as a reader would), long sums
wrapped inside `aligned` (no formula row of hundreds of characters), given values as compact tables,
and the network's SVG written beside the file and linked."""

from __future__ import annotations

import re

import pytest
from tests.test_render_formats import check_all_values, latex_values

import stepgrad
from gallery import SMALL, network
from stepgrad.formats import render


@pytest.mark.parametrize("key", [*SMALL, "16-16-10"])
def test_every_value_and_short_rows(key):
    trace = stepgrad.explain(network(key))
    out = render(trace, "markdown")
    check_all_values(trace, latex_values(out), 9)
    rows = [row for block in re.findall(r"\\begin\{aligned\}(.*?)\\end\{aligned\}", out, re.S)
            for row in block.split("\\\\")]
    assert max(len(re.sub(r"\\[a-zA-Z]+|[{}_^ ]", "", row)) for row in rows) < 110
    lines = out.split("\n## Forward pass")[0].splitlines()  # the given values' tables
    data_rows = [line for k, line in enumerate(lines) if line.startswith("|") and not line.startswith("|---")
                 and not (k + 1 < len(lines) and lines[k + 1].startswith("|---"))]
    given = len(trace.sections[0].steps)
    assert len(data_rows) <= given / 2 + 2  # a matrix per layer and kind, not a row per value


def test_diagram_beside_the_file(cli, tmp_path):
    result = cli("explain", "--format", "markdown", "-o", str(tmp_path / "step.md"))
    assert result.returncode == 0, result.stderr
    assert "![The network](step.svg)" in (tmp_path / "step.md").read_text()
    assert (tmp_path / "step.svg").read_text().lstrip().startswith(("<svg", "<?xml"))
