"""The lecture: `stepgrad explain --format slides` on the seed network tells the deck's whole story, in
its order, with derivations, and projects legibly.

References are independent of stepgrad: the deck's published figures (its error after one update and
its table after 10,000 iterations are the sequential order's), and a plain numpy re-implementation of
the seed network's training step for the synchronous order. The PDF is read back as a reader would:
its text with pdftotext, the network figure's characters and their boxes with pdfplumber.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter

import numpy as np
import pytest
from tests.conftest import require_tool

import stepgrad
from gallery import ALL, network
from stepgrad.cli import main
from stepgrad.core.functions import ACTIVATIONS, LOSSES
from stepgrad.formats import render, shown
from stepgrad.tracing.derive import derive
from stepgrad.tracing.group import group

DECK_ORDER = ["w5", "w6", "w7", "w8", "w1", "w2", "w3", "w4"]  # "Calculating the w5 change" ... w4
DECK_AFTER_ONE_UPDATE = "0.291027924"  # the deck's "Error = 0.291027924" (sequential order)
DECK_AFTER_10000 = ("0.015912196", "0.984065734")  # the deck's closing table (sequential order)


def _seed_step(weights: list[np.ndarray], sequential: bool) -> list[np.ndarray]:
    """One training step of the seed network in plain numpy (half squared error, sigmoid, eta 0.5)."""
    x, t, b1, b2, eta = np.array([0.05, 0.10]), np.array([0.01, 0.99]), 0.35, 0.60, 0.5
    w1, w2 = weights

    def sig(z: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-z))

    h = sig(w1 @ x + b1)
    o = sig(w2 @ h + b2)
    delta_o = (o - t) * o * (1 - o)
    new_w2 = w2 - eta * np.outer(delta_o, h)
    delta_h = ((new_w2 if sequential else w2).T @ delta_o) * h * (1 - h)
    return [w1 - eta * np.outer(delta_h, x), new_w2]


def _seed_outputs(weights: list[np.ndarray]) -> tuple[np.ndarray, float]:
    x, t = np.array([0.05, 0.10]), np.array([0.01, 0.99])
    h = 1 / (1 + np.exp(-(weights[0] @ x + 0.35)))
    o = 1 / (1 + np.exp(-(weights[1] @ h + 0.60)))
    return o, float(0.5 * np.sum((t - o) ** 2))


def _seed_weights() -> list[np.ndarray]:
    return [np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([[0.40, 0.45], [0.50, 0.55]])]


def _nine(x: float) -> str:
    return f"{x:.9f}".rstrip("0")


@pytest.fixture(scope="module")
def lecture(tmp_path_factory) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["explain", "--format", "slides"])
    return out.getvalue()


@pytest.mark.slow
def test_the_default_seed_slides_are_the_lecture_in_the_decks_order(lecture):
    titles = re.findall(r"\\frametitle\{(.*)\}", lecture)
    order = [m.group(1) for t in titles if (m := re.match(r"The \$w_\{(\d)\}\$ change", t))]
    assert list(dict.fromkeys(f"w{k}" for k in order)) == DECK_ORDER
    story = ["Our neural network", "Forward pass", "The total error", "The $w_{5}$ change",
             "The error after one update, in both orders", "After 10,000 iterations", "The deck's own mistakes"]
    places = [next(k for k, t in enumerate(titles) if t.startswith(s)) for s in story]
    assert places == sorted(places), "the frames are not in the deck's order"
    assert r"\textbf{The plan}" in lecture  # each weight's chain rule first, then its factors


def test_another_option_or_network_keeps_the_plain_slides():
    plain = render(stepgrad.explain(stepgrad.builtin()), "slides")
    assert "The deck's own mistakes" not in plain and "in both orders" not in plain


@pytest.mark.latex
def test_the_lecture_compiles_and_shows_every_figure_of_both_orders(lecture, tmp_path, artifacts):
    pdflatex, pdftotext = require_tool("pdflatex"), require_tool("pdftotext")
    (tmp_path / "lecture.tex").write_text(lecture)
    for _ in range(2):  # the documented build: twice, for the page counter
        done = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "lecture.tex"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:]
    (artifacts / "lecture.pdf").write_bytes((tmp_path / "lecture.pdf").read_bytes())
    text = subprocess.run([pdftotext, "lecture.pdf", "-"], cwd=tmp_path, capture_output=True, text=True,
                          check=True).stdout.replace("\u2212", "-")
    frames = lecture.count(r"\begin{frame}")
    assert 25 <= frames <= 60 and f"{frames} / {frames}" in text
    # the error after one update: the deck's figure (sequential) and the synchronous one, beside it
    sync = _seed_step(_seed_weights(), sequential=False)
    assert DECK_AFTER_ONE_UPDATE in text and _nine(_seed_outputs(sync)[1]) in text
    # after 10,000 iterations: the deck's table (sequential) and the synchronous outputs beside it
    weights = _seed_weights()
    for _ in range(10_000):
        weights = _seed_step(weights, sequential=False)
    assert all(figure in text for figure in DECK_AFTER_10000)
    assert all(_nine(o) in text for o in _seed_outputs(weights)[0])
    assert "The deck’s own mistakes" in text or "The deck's own mistakes" in text
    assert "21707153" in text  # the deck's power-of-ten slip, as printed
    # every derivation: each local derivative of the step is derived once (its value shown), later "as for"
    trace = derive(stepgrad.explain(stepgrad.builtin(), update_order="synchronous"))
    for step in trace:
        if step.derivation:
            assert _nine(step.value) in text, step.name
    words = " ".join(text.split())  # a rule wraps in its column
    assert words.count("exp rule on 1 / (1 + exp(-net))") == 1  # the sigmoid's derivative, derived once
    assert words.count("as for o1") == 4  # o2's loss gradient and the sigmoid of o2, h1, h2


@pytest.mark.latex
def test_the_network_figure_is_readable_when_projected(lecture, tmp_path):
    import pdfplumber  # a test dependency (pyproject's test extra): never skipped

    pdflatex = require_tool("pdflatex")
    (tmp_path / "lecture.tex").write_text(lecture)
    subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "lecture.tex"], cwd=tmp_path,
                   capture_output=True, check=True, timeout=300)
    with pdfplumber.open(tmp_path / "lecture.pdf") as pdf:
        page = pdf.pages[1]  # "Our neural network"
        body = [c for c in page.chars if c["top"] > 30 and c["bottom"] < page.height - 15]  # not title, not footline
        words = [w for w in page.extract_words(x_tolerance=1.5) if w["top"] > 30 and w["bottom"] < page.height - 15]
    texts = [w["text"] for w in words]
    assert texts.count("=") == 10 and texts.count("w") == 8  # every weight and both biases, labelled
    assert all(v in texts for v in ("0.15", "0.2", "0.25", "0.3", "0.4", "0.45", "0.5", "0.55", "0.35", "0.6"))
    assert min(c["size"] for c in body) >= 7.95, Counter(round(c["size"], 1) for c in body)

    def overlap(a: dict, b: dict) -> bool:
        pad = 0.5  # glyph boxes touch (a subscript after its letter); text over text overlaps more
        return (a["x0"] + pad < b["x1"] - pad and b["x0"] + pad < a["x1"] - pad
                and a["top"] + pad < b["bottom"] - pad and b["top"] + pad < a["bottom"] - pad)

    clashes = [(a["text"], b["text"]) for k, a in enumerate(words) for b in words[k + 1:] if overlap(a, b)]
    assert not clashes, clashes


@pytest.mark.parametrize("key", [*ALL, "deck, 3 samples"])
def test_no_rule_is_derived_twice_unasked(key):
    net = network(key) if key in ALL else deck_batch()
    trace = shown(group(derive(stepgrad.explain(net)), "weight"))
    whole = Counter()
    for step in trace:
        if step.derivation and not step.derivation[0].rule.startswith("as for"):
            whole[tuple(d.rule for d in step.derivation)] += 1
    entries = [ACTIVATIONS[a] for a in dict.fromkeys(net.activations)] + [LOSSES[net.loss]]
    for entry in entries:  # each registry derivation of the network's activations and loss: once at most
        rules = tuple(rule for rule, _latex, _text in entry.derivation)
        assert sum(n for r, n in whole.items() if r[:len(rules)] == rules and rules) <= 1, (entry.name, whole)
    # a later one refers to the first ("as for o1"); only a net's one-line power rule is left out
    derived = {s.name for s in trace if s.derivation}
    dropped = [s.name for s in derive(stepgrad.explain(net)) if s.derivation and s.name not in derived]
    assert all(name.startswith("dnet_") for name in dropped), dropped[:5]


def deck_batch() -> stepgrad.Network:
    """The deck's network with three samples: its own, and two more."""
    data = stepgrad.builtin().to_dict()
    data.pop("inputs", None)
    data.pop("targets", None)
    data["samples"] = [{"inputs": [0.05, 0.10], "targets": [0.01, 0.99]},
                       {"inputs": [0.5, -0.3], "targets": [0.2, 0.7]},
                       {"inputs": [-0.2, 0.9], "targets": [0.9, 0.1]}]
    return stepgrad.Network.from_dict(data, "<deck, 3 samples>")


def test_a_batch_derives_sample_1_and_tables_the_others():
    trace = derive(stepgrad.explain(deck_batch()))
    out = render(trace, "text", width=100)
    assert "out_o1[1] = 1 / (1 + exp(-net_o1[1]))" in out  # sample 1 in full
    assert "out_o1[2] =" not in out and "out_o1[k]" in out  # the others: the same quantity, a column each
    assert "E_total = 1/3 * (E_total[1] + E_total[2] + E_total[3])" in out  # then the mean
    everything = render(trace, "text", width=100, full=True)
    assert "out_o1[2] = 1 / (1 + exp(-net_o1[2]))" in everything  # --all: every sample in full


def five_three_softmax() -> stepgrad.Network:
    """One softmax layer of 3 on 5 inputs, cross-entropy: each output's error signal carries a note."""
    return stepgrad.Network.from_dict({"layers": [5, 3], "activations": ["softmax"], "loss": "cross_entropy",
                                       "seed": 3, "samples": [{"inputs": [0.1, 0.2, -0.3, 0.4, 0.5], "targets": 1}]})


@pytest.mark.parametrize("grouping", ["layer", "weight"])
@pytest.mark.parametrize("full", [False, True])
def test_no_frame_holds_only_a_note(grouping, full):
    """A rule or note stays on its equation's frame: every frame shows an equation, a table or a picture."""
    for net in (five_three_softmax(), network("3-4-2 tanh/softmax CE, 2 samples")):
        source = render(group(derive(stepgrad.explain(net)), grouping), "slides", full=full)
        frames = re.findall(r"\\begin\{frame\}(.*?)\\end\{frame\}", source, re.S)
        alone = [re.search(r"\\frametitle\{(.*)\}", f).group(1) for f in frames  # type: ignore[union-attr]
                 if not re.search(r"align\*|tabular|array|tikzpicture|titlepage|itemize", f)]
        assert not alone, alone


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "slides", "html"])
def test_every_format_states_the_plan_before_the_factors(fmt):
    """w5's section opens with dE_total/dw5 = dE_total/dout_o1 * dout_o1/dnet_o1 * dnet_o1/dw5 in symbols,
    before the first factor's numbers (0.74136507, the deck's figure for dE_total/dout_o1)."""
    out = render(group(derive(stepgrad.explain(stepgrad.builtin())), "weight"), fmt, digits=9)
    assert "The plan" in out and out.index("The plan") < out.index("0.74136507")
    assert out.count("The plan") == 8  # one per weight
    if fmt == "text":
        plan = out[out.index("The plan"):out.index("0.74136507")]
        assert "dE_total/dw5 = dE_total/dout_o1 * dout_o1/dnet_o1 * dnet_o1/dw5" in plan
