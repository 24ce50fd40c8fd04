"""stepgrad exercise: nice numbers, reproducible, a key that equals the engine, a template check marks."""

from __future__ import annotations

import json
import math
import re

import pytest

from conftest import require_tool, run_cli, slow_after
from stepgrad import load
from stepgrad.teach.exercise import generate

CASES = [("2-3-2", "tanh", 2, 3), ("2-2-2-1", "sigmoid", 11, 5), ("2-2-2", "sigmoid", 1, None),  # make check: the first
         ("2-2-2", "sigmoid", 7, 4), ("3-2-2", "relu", 5, None), ("2-2-2", "leaky_relu", 4, 4)]


def _run(tmp_path, layers, activation, seed, round_to, fmt="text"):
    out = tmp_path / f"ex-{seed}"
    args = ["exercise", "--layers", layers, "--activation", activation, "--seed", str(seed), "--format", fmt, "-o", str(out)]
    if round_to is not None:
        args += ["--round", str(round_to)]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    return out


def _explain_values(network, round_to) -> dict[str, float]:
    args = ["explain", str(network), "--format", "json"] + (["--round", str(round_to)] if round_to is not None else [])
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["values"]


@pytest.mark.parametrize("layers,activation,seed,round_to", slow_after(1, CASES))
def test_key_equals_engine_and_filled_template_checks_correct(tmp_path, layers, activation, seed, round_to):
    out = _run(tmp_path, layers, activation, seed, round_to)
    values = _explain_values(out / "network.toml", round_to)
    # the answer key's derivation ends every line with the value: it equals the engine's
    key = (out / "key.txt").read_text()
    shown = dict(re.findall(r"^([^\s=]+) = .*\n\s+= .* = (\S+)$", key, re.M))
    assert len(shown) > 20
    for name, text in shown.items():
        assert float(text) == pytest.approx(values[name], rel=1e-8, abs=1e-12), name
    # the blank template, filled with the engine's values, is all correct
    template = (out / "solution-template.txt").read_text()
    filled = re.sub(r"^(\S+)(\s+)=$", lambda m: f"{m.group(1)}{m.group(2)}= {values[m.group(1)]!r}", template, flags=re.M)
    assert filled.count("=") > 20 and not re.search(r"=$", filled, re.M)
    (out / "solution.txt").write_text(filled)
    args = ["check", "--network", str(out / "network.toml"), str(out / "solution.txt"), "--format", "json"]
    if round_to is not None:
        args += ["--round", str(round_to)]
    proc = run_cli(*args)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, report["summary"]
    assert report["summary"]["correct"] == len(report["results"]) == template.count("=") - 1  # one '=' in the header
    # ... and so is the key's own filled template
    args[3] = str(out / "key-values.txt")
    assert run_cli(*args).returncode == 0


@pytest.mark.parametrize("layers,activation,seed,round_to", CASES)
def test_nice_numbers_away_from_saturation(layers, activation, seed, round_to):
    ex = generate(tuple(int(n) for n in layers.split("-")), activation, seed, round_to)
    net = ex.network
    given = [*net.inputs.ravel(), *net.targets.ravel(), *(b for bs in net.biases for b in bs),
             *(w for ws in net.weights for w in ws.ravel()), net.learning_rate]
    for x in given:
        assert x != 0 and round(x, 2) == x
    # forward pass by hand: every net within the unsaturated range
    outs = list(net.inputs[0])
    for w, b in zip(net.weights, net.biases):
        nets = [sum(w[j][i] * outs[i] for i in range(len(outs))) + b[0] for j in range(len(w))]
        if activation == "sigmoid":
            assert max(abs(z) for z in nets) <= 2.5
            outs = [1 / (1 + math.exp(-z)) for z in nets]
        elif activation == "tanh":
            assert max(abs(z) for z in nets) <= 1.5
            outs = [math.tanh(z) for z in nets]
        else:
            assert min(abs(z) for z in nets) >= 0.05 and max(nets) > 0
            outs = [z if z > 0 else (0.01 * z if activation == "leaky_relu" else 0.0) for z in nets]
    assert all(abs(t - o) >= 0.05 for t, o in zip(net.targets[0], outs))


def test_same_seed_same_exercise_other_seed_other_exercise(tmp_path):
    a = _run(tmp_path / "a", "2-2-2", "sigmoid", 3, 4, "markdown")
    b = _run(tmp_path / "b", "2-2-2", "sigmoid", 3, 4, "markdown")
    c = _run(tmp_path / "c", "2-2-2", "sigmoid", 4, 4, "markdown")
    for name in ("sheet.md", "key.md", "solution-template.txt", "network.toml"):
        assert (a / name).read_text() == (b / name).read_text()
    assert (a / "network.toml").read_text() != (c / "network.toml").read_text()
    net = load(a / "network.toml")
    sheet = (a / "sheet.md").read_text()
    for w in net.weights[0].ravel():
        assert f"| {w:g} |" in sheet


@pytest.mark.parametrize("fmt,marker", [("markdown", "| `w1` |"), ("html", "<td>w1</td>"), ("latex", "\\begin{tabular}")])
def test_sheet_formats(fmt, marker):
    proc = run_cli("exercise", "--seed", "2", "--format", fmt)
    assert proc.returncode == 0
    assert marker in proc.stdout
    assert "Your task" in proc.stdout


@pytest.mark.latex
def test_latex_sheet_and_key_compile(tmp_path):
    import subprocess

    pdflatex = require_tool("pdflatex")
    out = _run(tmp_path, "2-2-2", "tanh", 9, 3, "latex")
    for name in ("sheet.tex", "key.tex"):
        proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", name], cwd=out,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout[-2000:]


@pytest.mark.parametrize("args,words", [
    (["--layers", "2-x-2"], "--layers"), (["--layers", "2"], "--layers"), (["--layers", "2-9-2"], "--layers"),
])
def test_bad_options_exit_2(args, words):
    proc = run_cli("exercise", *args)
    assert proc.returncode == 2
    assert words in proc.stderr and "Traceback" not in proc.stderr
