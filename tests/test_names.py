"""names.py builds and parses every quantity name; no other module writes or parses one itself.

The expected names below are written out by hand from the naming scheme (README, "Names"), not
produced by the code under test; the round trip covers every name of every gallery network's trace.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import stepgrad
from stepgrad.core import names
from stepgrad.core.names import Name, parse

SRC = Path(stepgrad.__file__).parent


def _network(layers, activations, loss, biases, samples, seed=0):
    rng = np.random.default_rng(seed)
    return stepgrad.Network.from_dict({
        "layers": layers, "activations": activations, "loss": loss, "learning_rate": 0.5,
        "weights": [rng.normal(size=(layers[l + 1], layers[l])).tolist() for l in range(len(layers) - 1)],
        "biases": biases,
        "samples": [{"inputs": rng.normal(size=layers[0]).tolist(),
                     "targets": np.eye(layers[-1])[s % layers[-1]].tolist() if activations[-1] == "softmax"
                     else rng.uniform(0.1, 0.9, size=layers[-1]).tolist()} for s in range(samples)],
    })


GALLERY = {
    "2-2-2 deck": stepgrad.builtin,
    "3-4-2 tanh/softmax cross-entropy, 2 samples": lambda: _network(
        [3, 4, 2], ["tanh", "softmax"], "cross_entropy", [0.1, -0.2], 2),
    "2-3-3-1 relu, per-neuron biases": lambda: _network(
        [2, 3, 3, 1], ["relu", "relu", "sigmoid"], "half_squared_error", [[0.1, 0.2, 0.3], [0.1, -0.1, 0.2], [0.05]], 1),
    "8-6-4": lambda: _network([8, 6, 4], ["sigmoid", "sigmoid"], "half_squared_error", [0.3, 0.6], 1),
}


def _traces(net):
    yield stepgrad.explain(net)
    yield stepgrad.explain(net, update_order="sequential")
    for optimizer in ("momentum", "adam"):
        yield stepgrad.explain(net, optimizer=optimizer)


@pytest.mark.parametrize("which", GALLERY)
def test_every_name_in_every_gallery_trace_parses_and_round_trips(which):
    net = GALLERY[which]()
    for trace in _traces(net):
        seen = {s.name for s in trace} | {op for s in trace for op in s.operands}
        seen |= {f for s in trace for p in s.paths for f in p.factors}
        for name in seen:
            parts = parse(name)
            assert str(parts) == name
            assert parts.kind in names.KINDS
            if parts.kind == "partial":
                assert parts.top.kind != "partial" and parts.bottom.kind != "partial"
        for step in trace:  # the step's kind and its name's kind agree where both say it
            if step.kind in ("net", "out"):
                assert parse(step.name).kind == step.kind
            if step.kind in ("partial", "delta", "gradient"):
                assert parse(step.name).kind == "partial"


BUILT = [  # (built by names.py, written by hand)
    (names.net("h1"), "net_h1"),
    (names.net("o2", sample=2, after=True), "net_o2+[2]"),
    (names.out("h1_2", sample=3), "out_h1_2[3]"),
    (names.target("o1"), "target_o1"),
    (names.error(), "E_total"),
    (names.error(after=True), "E_total+"),
    (names.error("o1", sample=1), "E_o1[1]"),
    (names.partial(names.error(), "w5"), "dE_total/dw5"),
    (names.partial(names.out("h1"), names.net("h1"), sample=2), "dout_h1[2]/dnet_h1[2]"),
    (names.partial(names.error(), names.out("o1"), sample=3), "dE_total[3]/dout_o1[3]"),
    (names.partial(names.net("o1"), "w5", sample=2), "dnet_o1[2]/dw5"),
    (names.gradient("b_h1", sample=2), "dE_total[2]/db_h1"),
    (names.batch_partial(names.error(), names.out("o1"), 2), "dE_total/dout_o1[2]"),
    (names.for_sample("dE_total/dw5", 2), "dE_total[2]/dw5"),
    (names.for_sample("E_total", 2), "E_total[2]"),
    (names.gradient("b_h1"), "dE_total/db_h1"),
    (names.updated("w5"), "w5+"),
    (names.state("m", "w5"), "m_w5"),
    (names.state("m_hat", "b2"), "m_hat_b2"),
    (names.state("v", "w1", after=True), "v_w1+"),
    (names.at("i1", 2), "i1[2]"),
    (names.at("i1", None), "i1"),
]


@pytest.mark.parametrize("built, written", BUILT)
def test_builders_give_the_deck_names(built, written):
    assert built == written


PARSED = [
    ("i2[3]", Name("input", neuron="i2", sample=3)),
    ("net_h2_1+", Name("net", neuron="h2_1", after=True)),
    ("target_o1[2]", Name("target", neuron="o1", sample=2)),
    ("E_total", Name("error")),
    ("E_o2+", Name("error", neuron="o2", after=True)),
    ("w12", Name("weight", parameter="w12")),
    ("b1+", Name("bias", parameter="b1", after=True)),
    ("b_h1", Name("bias", parameter="b_h1", neuron="h1")),
    ("eta", Name("learning_rate")),
    ("beta1", Name("hyperparameter", symbol="beta1")),
    ("s_hat_w3", Name("state", symbol="s_hat", parameter="w3")),
    ("m_b_o1+", Name("state", symbol="m", parameter="b_o1", after=True)),
    ("dE_o1[2]/dnet_o1[2]", Name("partial", sample=2, top=Name("error", neuron="o1"), bottom=Name("net", neuron="o1"))),
    ("dnet_o1[2]/dw5", Name("partial", sample=2, top=Name("net", neuron="o1"), bottom=Name("weight", parameter="w5"))),
    ("dE_total/dout_h1[3]", Name("partial", sample=3, top=Name("error"), bottom=Name("out", neuron="h1"), batch=True)),
    ("dnet_o1/dw5", Name("partial", top=Name("net", neuron="o1"), bottom=Name("weight", parameter="w5"))),
]


@pytest.mark.parametrize("name, expected", PARSED)
def test_parse_takes_a_name_apart(name, expected):
    assert parse(name) == expected
    assert str(expected) == name


@pytest.mark.parametrize("junk", ["", "foo bar", "dE_total", "d/d", "net_x1", "w5[", "E_", "dE_total/dnot a name",
                                  # per-sample derivatives name the sample on each side (the old form is `legacy`)
                                  "dout_o1/dnet_o1[2]", "dE_total/dw5[2]", "dE_total[1]/dout_o1[2]",
                                  "dE_total[1]/dout_o1", "dnet_o1[2]/dw5[2]", "dE_o1/dout_h1[2]"])
def test_parse_refuses_what_is_not_a_name(junk):
    with pytest.raises(ValueError, match="not a quantity name"):
        parse(junk)
    assert not names.is_name(junk)


@pytest.mark.parametrize("old, new", [
    ("dout_o1/dnet_o1[2]", "dout_o1[2]/dnet_o1[2]"), ("dE_total/dout_o1[2]", "dE_total[2]/dout_o1[2]"),
    ("dE_total/dw5[2]", "dE_total[2]/dw5"), ("dnet_o1/dout_h1[3]", "dnet_o1[3]/dout_h1[3]"),
    ("dE_total/dw5", None), ("dE_total[2]/dout_o1[2]", None), ("out_o1[2]", None)])
def test_legacy_reads_the_old_per_sample_names(old, new):
    assert names.legacy(old) == new


def test_rename_neuron_and_neurons_in():
    assert names.rename_neuron("dE_o1[2]/dnet_o1[2]", "o1", "o2") == "dE_o2[2]/dnet_o2[2]"
    assert names.rename_neuron("dnet_o1/dout_h1", "h1", "h2") == "dnet_o1/dout_h2"
    assert names.rename_neuron("b_h1+", "h1", "h2") == "b_h2+"
    assert names.rename_neuron("w5", "h1", "h2") == "w5"
    assert names.neurons_in("dE_o1/dout_h1") == {"o1", "h1"}
    assert names.neurons_in("w5") == set()


# Patterns that write a quantity name by hand or take one apart with a regex.
_FORBIDDEN = [
    (re.compile(r"""\bf["'][^"']*(net_|out_|dE_|E_|target_|/d|\bd)\{"""), "builds a name with an f-string"),
    (re.compile(r"""\bf["']\{[^}]*\}\+["']"""), "appends the '+' of a name in an f-string"),
    (re.compile(r"""\+\s*["']\+["']|removesuffix\(["']\+["']\)|endswith\(["']\+["']\)"""), "adds or strips the '+' of a name"),
    (re.compile(r"""startswith\(\(?["'](net_|out_|target_|dE_|E_|b_|dout_|dnet_)"""), "tests a name's prefix"),
    (re.compile(r"""\\\[\\d\+\\\]"""), "parses a sample number with a regex"),
]
# Lines that match a pattern but hold no quantity name: the optimizer registry's role keys (m+, p+).
# pure.py writes the local variables of the Python it generates (d0_1, g5, a1_0), not quantity names.
_NOT_NAMES = {("optim.py", 'role.endswith("+")'), ("optim.py", 'q[f"{slot}+"]'), ("fast.py", 'q[f"{name}+"]'),
              ("pure.py", "")}


def test_no_module_but_names_py_builds_or_parses_a_name():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "names.py" and path.parent == SRC / "core":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for pattern, what in _FORBIDDEN:
                if pattern.search(line) and not any(path.name == f and text in line for f, text in _NOT_NAMES):
                    found.append(f"{path.relative_to(SRC)}:{number}: {what}: {line.strip()}")
    assert not found, "\n".join(found)
