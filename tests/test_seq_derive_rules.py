"""`explain --derive` on sequence models: every stated rule, evaluated with the trace's numbers, is torch autograd's.

The rules of formats/seq_rules*.py (rnn: the recurrence and BPTT; attention: projections, scaled scores, row
softmax and its Jacobian, output; layernorm and batchnorm: statistics, xhat and the three paths back; a dense
layer on a sequence) are formula trees. Here each one is evaluated for every value of its letters (and every
sample) with the trace's values on its right-hand side, and compared at 1e-9 relative with the left-hand
side's value from the step written out in torch (tests/seq_torch_written.py: forward values, autograd's
gradients of every intermediate, per sample; where batchnorm mixes the samples, the batch's). The rules are
also the lines `explain --derive` prints, in text and Markdown.
"""

from __future__ import annotations

import copy
import json
import math

import pytest

from conftest import slow_after
from seq_gallery import random_attention_spec, random_norm_spec, random_rnn_spec
from seq_trace_gallery import GALLERY
from stepgrad.api import Extras, explain_document
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.formats import rule_forms as rf
from stepgrad.formats.seq_rules import rules
from stepgrad.tracing.layered import explain_layers

torch = pytest.importorskip("torch")
from seq_torch_written import ACTIVATIONS, written_step  # noqa: E402  (needs torch)


def _fits(spec: dict) -> bool:
    """The activations the written-out step has."""
    return all(layer.get("activation", spec.get("activation", "sigmoid")) in ACTIVATIONS
               for layer in spec["layers"] if isinstance(layer, dict))


def _truncated(seed: int) -> dict:
    """A random rnn whose BPTT is truncated to fewer steps than its sequence has."""
    spec = random_rnn_spec(seed, smooth=True, truncate=True)
    rnn = next(layer for layer in spec["layers"] if layer["type"] == "rnn")
    steps = spec["layers"][0]["steps"]
    rnn["truncate"] = max(1, min(rnn["truncate"], steps - 1))
    return spec


RANDOM = {**{f"rnn-{s}": random_rnn_spec(s, smooth=True, truncate=False) for s in range(12)},
          **{f"rnn-truncated-{s}": _truncated(s) for s in range(12) if random_rnn_spec(s)["layers"][0]["steps"] > 1},
          **{f"attention-{s}": random_attention_spec(s, smooth=True) for s in range(10)},
          **{f"norm-{s}": random_norm_spec(s, smooth=True) for s in range(12)}}
SPECS = {**{f"gallery-{k}": v for k, v in GALLERY.items()}, **{k: v for k, v in RANDOM.items() if _fits(v)}}


def _quick_first(key: str) -> tuple:
    """The gallery first, then the random networks seed by seed (each kind in the fast loop)."""
    return not key.startswith("gallery"), key.split("-")[-1].zfill(3), key


def evaluate(e: rf.Expr, bind: dict[str, int], values: dict[str, float]) -> float:
    """The value of a rule's formula for bound letters, every name looked up in `values`."""
    if isinstance(e, rf.Ref):
        return values[e.name(bind)]
    if isinstance(e, rf.Num):
        return e.value
    if isinstance(e, rf.Op):
        a, b = evaluate(e.left, bind, values), evaluate(e.right, bind, values)
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else math.nan}[e.op]
    if isinstance(e, rf.Sum):
        return sum(evaluate(e.body, {**bind, e.letter: v}, values) for v in e.values(bind))
    if isinstance(e, rf.Call):
        a = evaluate(e.argument, bind, values)
        return {"sqrt": math.sqrt, "exp": math.exp, "tanh": math.tanh, "relu": lambda v: max(v, 0.0),
                "sigmoid": lambda v: 1 / (1 + math.exp(-v))}[e.function](a)
    if isinstance(e, rf.Power):
        return evaluate(e.base, bind, values) ** e.exponent.value
    if isinstance(e, rf.Indicator):
        return 1.0 if e.holds(bind) else 0.0
    if isinstance(e, rf.Positive):
        return 1.0 if evaluate(e.argument, bind, values) > 0 else 0.0
    raise TypeError(type(e))


def bindings(rule: rf.Rule, samples: int):
    """Every value of the rule's letters (the sample's too, outside, when the rule has no sample letter)."""
    def walk(domain, bind):
        if not domain:
            yield dict(bind)
            return
        (letter, values), rest = domain[0], domain[1:]
        for v in values(bind):
            yield from walk(rest, {**bind, letter: v})

    letters = [letter for letter, _ in rule.domain]
    starts = [{}] if "s" in letters else [{"s": s} for s in range(1, samples + 1)]
    for start in starts:
        yield from walk(rule.domain, start)


def torch_values(net: LayerNetwork, mixing: bool) -> dict[str, float]:
    count = len(net.inputs)
    found = written_step(net, list(range(count)), mixing)
    if not mixing and count > 1:  # each sample's own error: a run of that sample alone
        for s in range(count):
            found.update(written_step(net, [s], mixing))
    return found


@pytest.mark.parametrize("key", slow_after(12, sorted(SPECS, key=_quick_first)))
def test_every_rule_with_the_traces_numbers_is_torchs(key) -> None:
    net = LayerNetwork.from_dict(copy.deepcopy(SPECS[key]))
    trace = explain_layers(net)
    meta = trace.meta
    reference = torch_values(LayerNetwork.from_dict(copy.deepcopy(SPECS[key])), bool(meta.get("mixing")))
    values = {**trace.values, **{k: v for k, v in reference.items() if k.startswith("above:")}}
    checked = 0
    for layer in meta["layers"]:
        for forward in (True, False):
            found = rules(layer, meta, forward)
            if found is None:
                continue
            for rule in found[1]:
                for bind in bindings(rule, int(meta["samples"])):
                    lhs = rule.lhs.name(bind)
                    for form in rule.forms:
                        got = evaluate(form, bind, values)
                        assert got == pytest.approx(reference[lhs], rel=1e-9, abs=1e-12), (rule.text(), bind, lhs)
                        checked += 1
    assert checked > 0


def test_the_rules_cover_each_kind_and_the_gallery_has_each_setting() -> None:
    layers = [layer for spec in SPECS.values() for layer in spec["layers"] if isinstance(layer, dict)]
    kinds = {layer["type"] for layer in layers}
    assert {"rnn", "attention", "layernorm", "batchnorm"} <= kinds
    assert {layer.get("scale", True) for layer in layers if layer["type"] == "attention"} == {True, False}
    assert {layer.get("causal") for layer in layers if layer["type"] == "attention"} == {True, False}
    assert {layer.get("output") for layer in layers if layer["type"] == "rnn"} == {"last", "sequence"}
    assert {layer.get("mode") for layer in layers if layer["type"] == "batchnorm"} == {"training", "evaluation"}
    assert {layer.get("variance", "biased") for layer in layers if "norm" in layer["type"]} == {"biased", "unbiased"}


@pytest.mark.parametrize("key", ["rnn_sequence", "attention_causal", "batchnorm_training", "layernorm_dense"])
def test_derive_prints_the_rules_the_test_evaluates(tmp_path, key) -> None:
    path = tmp_path / f"{key}.json"
    path.write_text(json.dumps(GALLERY[key]))
    text = explain_document(str(path), fmt="text", extras=Extras(derive=True))
    markdown = explain_document(str(path), fmt="markdown", extras=Extras(derive=True))
    trace = explain_layers(LayerNetwork.from_dict(copy.deepcopy(GALLERY[key])))
    flat = " ".join(text.split())
    for layer in trace.meta["layers"]:
        for forward in (True, False):
            found = rules(layer, trace.meta, forward)
            for rule in (found or ("", []))[1]:
                assert " ".join(rule.text().split()) in flat, rule.text()
                assert rule.latex().split(" = ")[0] in markdown
    without = explain_document(str(path), fmt="text")
    assert "The rule" not in without.replace("The rule of", "")


def test_the_conventions_are_stated() -> None:
    spec = copy.deepcopy(GALLERY["attention_causal"])
    spec["layers"][1]["scale"] = False
    trace = explain_layers(LayerNetwork.from_dict(spec))
    intro = rules(trace.meta["layers"][0], trace.meta, True)[0]  # type: ignore[index]
    assert "not scaled" in intro and "over the keys j of each row i" in intro and "causal mask" in intro
    norm = explain_layers(LayerNetwork.from_dict(copy.deepcopy(GALLERY["batchnorm_training"])))
    intro = rules(norm.meta["layers"][1], norm.meta, False)[0]  # type: ignore[index]
    assert "biased variance (divided by D = 3, M, as PyTorch normalizes)" in intro and "three paths" in intro
    rnn = explain_layers(LayerNetwork.from_dict(copy.deepcopy(GALLERY["rnn_last"])))
    intro = rules(rnn.meta["layers"][0], rnn.meta, False)[0]  # type: ignore[index]
    assert "full" in intro and "sum over t of delta_t h_(t-1)^T" in intro
