"""The conv lecture (`explain --format slides`) and `--derive` for layer-table networks.

Slides: built as documented (pdflatex twice) for the conv gallery; no box overfull by more than 2pt (a
frame that runs off the bottom is an overfull vbox); every page rendered to PNG (pdftoppm) for a look;
the pooling route's bold cells are the ones PyTorch's max_pool2d picks (return_indices), and the kernel
weight's plan marks the input cells torch's unfold puts under that weight. --derive: the conv rule's
index formula agrees with unfold for every position and kernel offset.
"""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest

from conftest import require_tool
from conv_gallery import CNN, STRIDED, random_spec
from stepgrad.api import Display, Extras, StepOptions, explain_document

torch = pytest.importorskip("torch")
F = torch.nn.functional
OVERFULL = re.compile(r"Overfull \\[hv]box \((\d+(?:\.\d+)?)pt too (?:wide|high)\)")


def _slides(tmp_path, spec: dict, name: str, derive: bool = False) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(spec))
    return explain_document(str(path), fmt="slides", display=Display(digits=4), step=StepOptions(sample=1),
                            extras=Extras(derive=derive))


def _frame(source: str, title: str) -> str:
    start = source.index(f"\\frametitle{{{title}")
    return source[start:source.index("\\end{frame}", start)]


def _bold(frame: str) -> list[str]:
    return re.findall(r"\\mathbf\{([^}]*)\}", frame)


def test_the_pooling_route_is_the_cell_pytorch_picks(tmp_path) -> None:
    source = _slides(tmp_path, CNN, "cnn")
    x = torch.tensor(CNN["samples"][0]["inputs"], dtype=torch.float64).reshape(1, 1, 4, 4)
    k = torch.tensor(CNN["layers"][1]["weights"], dtype=torch.float64)
    out_c1 = torch.relu(F.conv2d(x, k, torch.tensor([0.05], dtype=torch.float64)))
    _, index = F.max_pool2d(out_c1, 3, stride=3, return_indices=True)
    winner = float(out_c1.flatten()[int(index.flatten()[0])])
    assert _bold(_frame(source, "The pooling route: p1")) == [f"{winner:.4g}"]


@pytest.mark.parametrize("derive", [False, True])
def test_the_plan_marks_the_cells_unfold_puts_under_the_weight(tmp_path, derive) -> None:
    source = _slides(tmp_path, STRIDED, "strided", derive)
    frame = _frame(source, "One kernel weight: k1[1,1,1,1], the plan")
    x = torch.tensor(STRIDED["samples"][0]["inputs"], dtype=torch.float64).unsqueeze(0)
    columns = F.unfold(x, 3, padding=1, stride=2)[0]  # rows: (channel, p, q); columns: output positions
    positions = F.unfold(torch.arange(1, 26, dtype=torch.float64).reshape(1, 1, 5, 5), 3, padding=1, stride=2)[0, 0]
    inside = [float(columns[0, j]) for j in range(positions.numel()) if positions[j] > 0]  # not on the padding
    assert sorted(_bold(frame)) == sorted(f"{v:.4g}" for v in inside), _bold(frame)
    assert "it touches 4 positions of c1's channel 1: (2,2), (2,3), (3,2), (3,3); 5 more on the zero padding" in frame


def test_derive_states_the_conv_index_rule_unfold_follows(tmp_path) -> None:
    path = tmp_path / "strided.json"
    path.write_text(json.dumps(STRIDED))
    text = explain_document(str(path), fmt="text", display=Display(digits=4), extras=Extras(derive=True))
    rule = re.search(r"net_c1\[o,r,c\] = sum over i, p, q of k1\[o,i,p,q\] \* x\[i, ([^,]+), ([^\]]+)\]", text)
    assert rule, text[:3000]
    row, col = rule.groups()
    index = torch.arange(1, 26, dtype=torch.float64).reshape(1, 1, 5, 5)
    cells = F.unfold(index, 3, padding=1, stride=2)[0].reshape(3, 3, 3, 3)  # (p, q, r, c): cell number or 0
    for p, q, r, c in np.ndindex(3, 3, 3, 3):
        u, v = (_evaluate(row, r=r + 1, p=p + 1), _evaluate(col, c=c + 1, q=q + 1))
        expected = int(cells[p, q, r, c])
        assert (0 if not (1 <= u <= 5 and 1 <= v <= 5) else (u - 1) * 5 + v) == expected, (p, q, r, c)
    for words in ("The rule (average pool): every cell of a window gets 1/4", "The rule (the skip path)",
                  "dE_total/dk1[o,i,p,q] = sum over the positions (r,c) of dE_total/dnet_c1[o,r,c]"):
        assert words in text


def test_derive_states_the_max_pool_route(tmp_path) -> None:
    path = tmp_path / "cnn.json"
    path.write_text(json.dumps(CNN))
    text = explain_document(str(path), fmt="text", extras=Extras(derive=True))
    assert "The rule (the max-pool route): a window's gradient goes whole to the cell that won it" in " ".join(
        text.split())
    assert "max-pool route" in explain_document(str(path), fmt="markdown", extras=Extras(derive=True))


@pytest.mark.slow
def test_a_big_network_gets_a_summary_and_all_gives_everything(tmp_path) -> None:
    spec = random_spec(9)  # 4 conv layers of 3 channels, a residual block, a dense layer: over 300 parameters
    summary = _slides(tmp_path, spec, "big")
    frames = summary.count("\\begin{frame}")
    assert frames <= 52, frames  # 112 before the summary
    assert "\\frametitle{What this summary left out}" in summary
    for k in (1, 2, 3, 4):  # one kernel weight per layer derived in full, its sum over positions not shortened
        frame = _frame(summary, f"One kernel weight: k{k}[1,1,1,1], the sum over positions")
        assert "cdots" not in frame
    assert "channels 2-3 of net\\_c1, out\\_c1" in summary
    assert "8 here, 72 more left out" in summary  # k2's other entries: its first slice
    path = tmp_path / "big.json"
    everything = explain_document(str(path), fmt="slides", display=Display(digits=4), step=StepOptions(sample=1),
                                  extras=Extras(full=True))
    assert everything.count("\\begin{frame}") > 2 * frames
    assert "What this summary left out" not in everything and "cdots" not in everything
    assert "out\\_c2,\\allowbreak{} channel 3" in everything
    small = _slides(tmp_path, CNN, "cnn")
    assert "What this summary left out" not in small


@pytest.mark.slow
def test_slides_of_several_samples_without_sample(tmp_path) -> None:
    spec = random_spec(9)
    path = tmp_path / "three.json"
    path.write_text(json.dumps(spec))
    assert len(spec["samples"]) == 3
    source = explain_document(str(path), fmt="slides", display=Display(digits=4))
    assert "samples 2-3 of" in source and "One kernel weight: k1[1,1,1,1], the sum over positions" in source


def _evaluate(expression: str, **values: int) -> int:
    """An index expression of the rule (digits, one-letter variables, + - and a product like 2(r-1))."""
    tokens = re.findall(r"\d+|[a-z]|[()+-]", expression)
    position = 0

    def term() -> int:
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "(":
            value = total()
            position += 1  # ")"
        else:
            value = values[token] if token.isalpha() else int(token)
        if position < len(tokens) and tokens[position] == "(":  # 2(r-1)
            position += 1
            value *= total()
            position += 1
        return value

    def total() -> int:
        nonlocal position
        value = term()
        while position < len(tokens) and tokens[position] in "+-":
            sign = 1 if tokens[position] == "+" else -1
            position += 1
            value += sign * term()
        return value

    return total()


@pytest.mark.latex
@pytest.mark.parametrize("which", [0, 3, 9, "strided", "cnn"])
def test_the_lecture_compiles_and_every_frame_fits(tmp_path, which, artifacts) -> None:
    pdflatex = require_tool("pdflatex")
    pdftoppm = require_tool("pdftoppm") if which in ("strided", "cnn", 9) else None  # 9: the summary
    spec = {"strided": STRIDED, "cnn": CNN}.get(which) if isinstance(which, str) else random_spec(which)
    (tmp_path / "conv.tex").write_text(_slides(tmp_path, spec, "net", derive=which == "strided"))
    for _ in range(2):
        result = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "conv.tex"], cwd=tmp_path,
                                capture_output=True, text=True, timeout=600)
        log = (tmp_path / "conv.log").read_text(errors="replace")
        assert result.returncode == 0, log[-2000:]
    too_big = [float(m) for m in OVERFULL.findall(log) if float(m) > 2]
    assert not too_big, re.findall(r"Overfull.*", log)[:3]
    if pdftoppm:  # every page as PNG, to be looked at
        subprocess.run([pdftoppm, "-r", "60", "-png", "conv.pdf", str(artifacts / f"conv-slides-{which}")],
                       cwd=tmp_path, check=True, timeout=300)
