"""The sequence lecture (`explain --format slides` of rnn, attention, layernorm and batchnorm networks).

Built as documented (pdflatex twice) for the examples of docs/guides/sequences.md (norm, rnn, attention,
sums) and the networks of tests/seq_gallery.py; no box overfull by more than 2pt (as the conv lecture's
test: a frame that runs off the bottom is an overfull vbox); every number with a decimal point at 8pt or
more (the script sizes 7, 6 and 5pt are a formula's superscripts: e^0.037, indices); every page as PNG for
a look (test-artifacts/). The numbers read back from the PDF with pdfplumber (the BPTT plan of Wh's first
entry, one query row through the softmax, a batchnorm's three paths) equal PyTorch autograd's, computed
here from the parameters of `stepgrad.to_torch(net)`, at the 4 significant digits shown.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, require_tool
from seq_gallery import random_attention_spec, random_norm_spec, random_rnn_spec
from stepgrad.api import Display, Extras, StepOptions, explain_document

torch = pytest.importorskip("torch")
DOCS = (ROOT / "docs" / "guides" / "sequences.md").read_text()
OVERFULL = re.compile(r"Overfull \\[hv]box \((\d+(?:\.\d+)?)pt too (?:wide|high)\)")
NUMBER = re.compile(r"[−-]?\d+\.\d+(?:e[−-]\d+)?")
MAX_FRAMES = 58  # a summary (the default for a big network) stays a lecture's length
GALLERY = [(random_rnn_spec, 0), (random_rnn_spec, 4), (random_attention_spec, 3), (random_attention_spec, 1),
           (random_norm_spec, 2), (random_norm_spec, 10)]


def _spec(name: str) -> str:
    """A TOML example of docs/guides/sequences.md by its title."""
    found = re.search(rf'```toml title="{re.escape(name)}"\n(.*?)```', DOCS, re.S)
    assert found, name
    return found.group(1)


def _sums(rows: int = 1) -> str:
    """sums.toml with its first rows of the bundled sequence_sums task as samples (explain takes no --data)."""
    from stepgrad.training.data import bundled

    data = bundled("sequence_sums")
    samples = "".join(f"\n[[samples]]\ninputs = {json.dumps([[v] for v in data.inputs[k].tolist()])}\n"
                      f"targets = {json.dumps(data.targets[k].tolist())}\n" for k in range(rows))
    return _spec("sums.toml") + samples


def _written(tmp_path: Path, name: str, text: str | dict) -> Path:
    path = tmp_path / (f"{name}.toml" if isinstance(text, str) else f"{name}.json")
    path.write_text(text if isinstance(text, str) else json.dumps(text))
    return path


def _slides(path: Path, full: bool = False, sample: int | None = None) -> str:
    return explain_document(str(path), fmt="slides", display=Display(digits=4), step=StepOptions(sample=sample),
                            extras=Extras(full=full))


def _compiled(tmp_path: Path, source: str, name: str, artifacts: Path | None = None, runs: int = 2) -> Path:
    """The PDF of a lecture, pdflatex twice as documented (`runs` 1: the boxes are the same, the frame count
    in the footline not yet); every box fits (2pt)."""
    pdflatex = require_tool("pdflatex")
    (tmp_path / f"{name}.tex").write_text(source)
    for _ in range(runs):
        result = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
                                cwd=tmp_path, capture_output=True, text=True, timeout=600)
        log = (tmp_path / f"{name}.log").read_text(errors="replace")
        assert result.returncode == 0, log[-2000:]
    too_big = [float(m) for m in OVERFULL.findall(log) if float(m) > 2]
    assert not too_big, re.findall(r"Overfull.*", log)[:3]
    if artifacts is not None:
        subprocess.run([require_tool("pdftoppm"), "-r", "60", "-png", f"{name}.pdf", str(artifacts / f"seq-slides-{name}")],
                       cwd=tmp_path, check=True, timeout=300)
    return tmp_path / f"{name}.pdf"


def _pages(pdf: Path) -> list[tuple[str, str, list[dict]]]:
    """(title, text, words with their size) of every page."""
    import pdfplumber

    with pdfplumber.open(pdf) as document:
        return [(text.splitlines()[0] if text else "", text, page.extract_words(extra_attrs=["size"]))
                for page in document.pages for text in [(page.extract_text() or "").replace("’", "'")]]


def _page(pages: list[tuple[str, str, list[dict]]], title: str) -> str:
    found = [text for head, text, _ in pages if head.startswith(title.replace("_", " "))]  # "\_" reads as a space
    assert found, [head for head, _, _ in pages]
    return "\n".join(found)


def _value(token: str) -> float:
    return float(token.replace("−", "-"))


def _row(text: str, label: str) -> list[float]:
    """The numbers of a grid's row, found by its label at the start of a line (its spaces as they may be read)."""
    for line in text.splitlines():
        tokens = line.split()
        first = next((k for k in range(len(tokens)) if all(re.fullmatch(r"[−-]?\d+(\.\d+)?", t) for t in tokens[k:])),
                     len(tokens))
        if first < len(tokens) and "".join(tokens[:first]) == label.replace(" ", ""):
            return [_value(t) for t in tokens[first:]]
    raise AssertionError((label, text))


def _shown(read: float, exact: float) -> bool:
    """Whether `read` is `exact` at the 4 significant digits of Display(digits=4)."""
    if exact == 0:
        return read == 0
    return abs(read - exact) <= 0.51 * 10 ** (math.floor(math.log10(abs(exact))) - 3)


def _legible(pages: list[tuple[str, str, list[dict]]]) -> None:
    """Every number with a decimal point typeset at 8pt or more, but in a superscript (7, 6 or 5pt)."""
    small = [(head, w["text"], round(w["size"], 1)) for head, _, words in pages for w in words
             if NUMBER.fullmatch(w["text"]) and w["size"] < 7.95 and round(w["size"], 1) not in (7.0, 6.0, 5.0)]
    assert not small, small[:5]


# -- the lecture's frames, without LaTeX ------------------------------------------------------------------------
def test_a_sequence_model_gets_the_lecture_and_derive_adds_the_rules(tmp_path) -> None:
    path = _written(tmp_path, "rnn", _spec("rnn.toml"))
    source = _slides(path)
    for title in ("One training step of a recurrent network", "The conventions of this step",
                  "The network, unrolled over time", "BPTT: Wh1[1,1], the plan",
                  "BPTT: Wh1[1,1], each step's term and their sum"):
        assert title in source, title
    assert "at the end only" in source and "full BPTT" in source
    ruled = explain_document(str(path), fmt="slides", extras=Extras(derive=True))
    assert "The rule (an Elman step" in ruled and "The rule (an Elman step" not in source


def test_the_conventions_say_what_decides_right_and_wrong(tmp_path) -> None:
    attention = _slides(_written(tmp_path, "attention", _spec("attention.toml")))
    conventions = attention[attention.index("The conventions of this step"):attention.index("\\end{frame}",
                                                                                          attention.index("The conventions"))]
    for words in ("scores scaled by 1/sqrt(2)", "softmax over the keys (each row of a adds to 1)", "no mask"):
        assert words in conventions, words
    norm = _slides(_written(tmp_path, "norm", _spec("norm.toml")))
    assert "the batch's mean and biased variance" in norm and "mixes the samples" in norm
    assert "The network, sample by sample" in norm and "reads every sample" in norm
    spec = json.loads(json.dumps(random_rnn_spec(0)))  # every step's output, the mean over the steps
    assert spec["step_reduction"] == "mean"
    per_step = _slides(_written(tmp_path, "steps", spec), sample=1)
    assert "at every step; each sample's error is the mean over the steps" in per_step


@pytest.mark.slow
def test_big_cases_are_summarised_and_all_derives_everything(tmp_path) -> None:
    for make, seed in GALLERY:
        path = _written(tmp_path, f"{make.__name__}-{seed}", make(seed))
        summary, everything = _slides(path), _slides(path, full=True)
        frames = summary.count("\\begin{frame}")
        assert 8 <= frames <= MAX_FRAMES, (make.__name__, seed, frames)
        assert everything.count("\\begin{frame}") >= frames
        assert "What this summary left out" not in everything
    sums = _written(tmp_path, "sums", _sums())
    source, everything = _slides(sums), _slides(sums, full=True)
    assert "Steps 1 to 5 alike: their contributions are in the plan's grid." in source
    assert all(f"\\text{{step {t}: }}" in everything for t in range(1, 7))  # --all: every step's term derived
    assert "\\text{step 1: }" not in source


# -- compiled, read back, compared with PyTorch ------------------------------------------------------------------
def _rnn_reference(net, inputs: list[list[float]], loss) -> tuple[list[float], list[float], list[float], float]:
    """PyTorch: dE/dnet_t[1], h_{t-1}[1] and their product at each step, and dE/dWh[1,1] (h0 = 0)."""
    model = __import__("stepgrad").to_torch(net)
    rnn, dense = model[0].rnn, model[1]
    w_x, w_h = rnn.weight_ih_l0.detach(), rnn.weight_hh_l0.detach().clone().requires_grad_()
    bias = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach()
    h = torch.zeros(w_h.shape[0], dtype=torch.float64)
    nets, states = [], [h]
    for x in torch.tensor(inputs, dtype=torch.float64):
        net_t = w_x @ x + w_h @ h + bias
        net_t.retain_grad()
        h = torch.tanh(net_t)
        nets.append(net_t)
        states.append(h)
    loss(dense(h)).backward()
    signals = [float(n.grad[0]) for n in nets]
    before = [float(s[0].detach()) for s in states[:-1]]
    return signals, before, [a * b for a, b in zip(signals, before)], float(w_h.grad[0, 0])


@pytest.mark.latex
def test_the_bptt_plan_is_pytorchs(tmp_path, artifacts) -> None:
    import stepgrad

    path = _written(tmp_path, "rnn", _spec("rnn.toml"))
    pages = _pages(_compiled(tmp_path, _slides(path), "rnn", artifacts))
    _legible(pages)
    net = stepgrad.load_layers(path)
    target = float(net.targets[0][0])
    signals, before, terms, gradient = _rnn_reference(
        net, [[0.3], [-0.2], [0.5]], lambda out: 0.5 * (target - torch.sigmoid(out[0])) ** 2)
    plan = _page(pages, "BPTT: Wh1[1,1], the plan")
    for label, exact in (("dE/dnet at t", signals), ("h at t-1", before), ("contribution", terms)):
        read = _row(plan, label)
        assert len(read) == 3 and all(map(_shown, read, exact)), (label, read, exact)
    total = _page(pages, "BPTT: Wh1[1,1], each step's term")
    sums = [_value(t) for t in re.findall(r"=(−?\d+\.\d+)\n", total)]
    assert any(_shown(v, gradient) for v in sums), (sums, gradient)
    assert f"{0.3 - 0.1 * gradient:.4g}" in total.replace("−", "-")  # Wh1[1,1]+ = 0.3 - eta * gradient


@pytest.mark.latex
def test_the_softmax_row_is_pytorchs(tmp_path, artifacts) -> None:
    import stepgrad

    path = _written(tmp_path, "attention", _spec("attention.toml"))
    pages = _pages(_compiled(tmp_path, _slides(path), "attention", artifacts))
    _legible(pages)
    net = stepgrad.load_layers(path)
    model = stepgrad.to_torch(net)
    head, dense = model[0], model[1]
    x = torch.tensor(net.inputs[0], dtype=torch.float64).reshape(3, 2)
    q, k, v = (p(x).detach() for p in (head.q_proj, head.k_proj, head.v_proj))
    scores = (q @ k.T / math.sqrt(2)).requires_grad_()
    weights = torch.softmax(scores, dim=1)  # over the keys: each row adds to 1
    weights.retain_grad()
    out = torch.sigmoid(dense(head.out_proj(weights @ v)[2]))
    (0.5 * (float(net.targets[0][0]) - out[0]) ** 2).backward()
    row = _page(pages, "Through the softmax: query row 3 of a1")
    for label, exact in (("a[3,j]", weights[2].detach()), ("dE/da[3,j]", weights.grad[2]), ("dE/dscore[3,j]", scores.grad[2])):
        read = _row(row, label)
        assert len(read) == 3 and all(_shown(r, float(e)) for r, e in zip(read, exact)), (label, read, exact)


@pytest.mark.latex
def test_the_three_paths_are_pytorchs(tmp_path, artifacts) -> None:
    import stepgrad

    path = _written(tmp_path, "norm", _spec("norm.toml"))
    pages = _pages(_compiled(tmp_path, _slides(path), "norm", artifacts))
    _legible(pages)
    net = stepgrad.load_layers(path)
    model = stepgrad.to_torch(net)
    x = torch.tensor(net.inputs, dtype=torch.float64)
    hidden = torch.tanh(model[0](x)).detach().requires_grad_()
    mu = hidden.mean(0)
    mu.retain_grad()
    var = ((hidden - mu) ** 2).mean(0)  # biased: PyTorch normalizes with 1/N
    var.retain_grad()
    xhat = (hidden - mu) / torch.sqrt(var + 1e-5)
    out = torch.sigmoid(model[3](xhat * model[2].weight + model[2].bias))
    error = (0.5 * (torch.tensor(net.targets, dtype=torch.float64) - out) ** 2).sum(1).mean()  # the batch's mean
    error.backward()
    paths = _page(pages, "The paths into out_d1[1]")
    numbers = [_value(t) for t in NUMBER.findall(paths)]
    for exact in (float(var.grad[0]), float(mu.grad[0])):  # the variance's and the mean's error signals
        assert any(_shown(v, exact) for v in numbers), (exact, numbers)
    assert any(_shown(abs(v), float(mu[0].detach())) for v in numbers)  # x - mu: read with its minus sign
    assert "through the variance" in paths and "through the mean" in paths
    assert _shown(_value(re.search(r"their sum: .*=(−?\d+\.\d+)", paths.replace("\n", " ")).group(1)),
                  float(hidden.grad[0, 0]))


@pytest.mark.latex
def test_the_sums_lecture_compiles_and_its_plan_is_pytorchs(tmp_path, artifacts) -> None:
    import stepgrad

    path = _written(tmp_path, "sums", _sums())
    pages = _pages(_compiled(tmp_path, _slides(path), "sums", artifacts))
    _legible(pages)
    assert len(pages) <= MAX_FRAMES
    net = stepgrad.load_layers(path)
    target = torch.tensor(net.targets[0], dtype=torch.float64)
    _, _, terms, _ = _rnn_reference(net, [[v] for v in torch.tensor(net.inputs[0]).flatten().tolist()],
                                    lambda out: -(target * torch.log_softmax(out, 0)).sum())
    read = _row(_page(pages, "BPTT: Wh1[1,1], the plan"), "contribution")
    assert len(read) == 6 and all(map(_shown, read, terms)), (read, terms)
    picture = _page(pages, "The network, unrolled over time")
    assert "h1 t6" in picture and "h1 t4" not in picture  # 6 steps: the first three, dots, the last


@pytest.mark.latex
@pytest.mark.parametrize("which", [1, 2, 5])  # an rnn over 4 steps, an attention head, a batchnorm on a map
def test_the_gallery_lectures_compile_and_every_frame_fits(tmp_path, which, artifacts) -> None:
    make, seed = GALLERY[which]
    name = f"{make.__name__}-{seed}"
    source = _slides(_written(tmp_path, name, make(seed)))
    assert source.count("\\begin{frame}") <= MAX_FRAMES
    _legible(_pages(_compiled(tmp_path, source, name, artifacts, runs=1)))


@pytest.mark.latex
@pytest.mark.parametrize("name", ["rnn", "attention", "norm"])
def test_the_lectures_with_derived_rules_compile_and_fit(tmp_path, name) -> None:
    """--derive adds the layers' rules; a rule's long condition (rnn: "for t in 1..2: only h at step 3 ...",
    a \\text that never breaks) goes under its line, so no frame is too wide."""
    source = explain_document(str(_written(tmp_path, name, _spec(f"{name}.toml"))), fmt="slides",
                              display=Display(digits=4), extras=Extras(derive=True))
    assert "The rule (" in source
    if name == "rnn":
        assert "\\emph{(for t in 1..2: only h at step 3 is passed on" in source
    assert source.count("\\begin{frame}") <= MAX_FRAMES
    _legible(_pages(_compiled(tmp_path, source, f"derive-{name}", runs=1)))


@pytest.mark.latex
@pytest.mark.slow
def test_everything_compiles_and_fits_too(tmp_path) -> None:
    for make, seed in (GALLERY[0], GALLERY[3]):  # --all: every step and row derived (about 100 frames each)
        name = f"all-{make.__name__}-{seed}"
        _legible(_pages(_compiled(tmp_path, _slides(_written(tmp_path, name, make(seed)), full=True), name, runs=1)))
