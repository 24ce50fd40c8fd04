"""A lecture on the gallery networks: slides a lecturer can project (about 45 frames at most), the weights'
values on the figures where they fit, every text at least 8 pt; `--all` derives every weight again."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
from collections import Counter

import pytest
from tests.conftest import require_tool
from tests.gallery import GALLERY, network

from stepgrad.cli import main

PROJECTABLE = 45  # frames
NETWORKS = ["3-4-2 tanh/softmax CE, 2 samples", "2-3-3-1 relu, per-neuron biases"]


def slides(key: str, tmp_path, *options: str) -> str:
    spec = tmp_path / "net.json"
    spec.write_text(json.dumps(GALLERY[key]))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["explain", str(spec), "--format", "slides", *options])
    return out.getvalue()


def weight_count(key: str) -> int:
    return sum(w.size for w in network(key).weights)


@pytest.mark.parametrize("key", NETWORKS)
def test_the_default_slides_can_be_projected(key, tmp_path):
    source = slides(key, tmp_path)
    frames = source.count(r"\begin{frame}")
    assert frames <= PROJECTABLE, frames
    titles = re.findall(r"\\frametitle\{(.*)\}", source)
    derived = [t for t in titles if re.search(r"The gradient of \$w_\{\d+\}\$", t)]
    assert len({re.search(r"w_\{(\d+)\}", t).group(1) for t in derived}) < weight_count(key)  # type: ignore[union-attr]
    assert any("computed the same way" in t for t in titles)  # the others, as a table of values
    everything = slides(key, tmp_path, "--all")
    every = {m for t in re.findall(r"\\frametitle\{(.*)\}", everything) for m in re.findall(r"gradient of \$w_\{(\d+)\}", t)}
    assert every == {str(k) for k in range(1, weight_count(key) + 1)}  # --all: every weight derived
    assert everything.count(r"\begin{frame}") > frames


@pytest.mark.latex
@pytest.mark.parametrize("key", NETWORKS)
def test_the_figures_carry_the_weights_values_at_8_pt(key, tmp_path, artifacts):
    import pdfplumber  # a test dependency (pyproject's test extra): never skipped

    pdflatex = require_tool("pdflatex")
    source = slides(key, tmp_path)
    (tmp_path / "deck.tex").write_text(source)
    done = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "deck.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    name = key.split()[0]
    (artifacts / f"gallery-{name}-slides.pdf").write_bytes((tmp_path / "deck.pdf").read_bytes())
    net = network(key)
    labelled: set[str] = set()
    with pdfplumber.open(tmp_path / "deck.pdf") as pdf:
        assert len(pdf.pages) == source.count(r"\begin{frame}")
        for page in pdf.pages[1:1 + len(net.weights) + 1]:  # the network, then a figure per weight layer
            body = [c for c in page.chars if c["top"] > 30 and c["bottom"] < page.height - 15]
            assert min(c["size"] for c in body) >= 7.95, Counter(round(c["size"], 1) for c in body)
            text = page.extract_text(x_tolerance=1.5).replace("\u2212", "-")
            labelled |= set(re.findall(r"(w\d+) = (-?[\d.]+)", text))
    # every weight on an edge, with its value to 3 significant digits (read from the spec, not from stepgrad)
    values = {w: float(v) for w, v in labelled}
    weights = [float(v) for layer in net.weights for v in layer.ravel()]  # w1.. by target, then source
    for k, value in enumerate(weights, start=1):
        assert values.get(f"w{k}") == pytest.approx(float(f"{value:.3g}")), (k, value)
