"""An attention head's rules for `explain --derive`: Q, K, V, the scaled scores, the row softmax and its Jacobian, the output."""

from __future__ import annotations

import math
from typing import Any

from stepgrad.core import names
from stepgrad.formats.rule_forms import Call, Expr, Indicator, Num, Op, Rule, Sum, plus, span, times
from stepgrad.formats.seq_rules_refs import Layer, weighted


class _Head:
    """A head's sizes, settings and the ranges of its letters (a causal mask: keys j = 1..i, queries i = j..T)."""

    def __init__(self, layer: Layer) -> None:
        p, settings = layer["parameters"], layer["settings"]
        self.label, self.stems = layer["label"], layer["parameter_names"]
        self.steps, self.features = (int(n) for n in layer["in_shape"])
        self.sizes = {role: int(p[f"weight_{role}"][0]) for role in "qkvo"}
        self.causal, self.scaled = bool(settings["causal"]), bool(settings["scaled"])
        self.scale = Num(1 / math.sqrt(self.sizes["k"]), f"1/sqrt({self.sizes['k']})",
                         rf"\frac{{1}}{{\sqrt{{{self.sizes['k']}}}}}")

    def keys(self, letter: str, query: str) -> tuple[str, Any, str]:
        last = query if self.causal else str(self.steps)
        return letter, (lambda b: range(1, (b[query] if self.causal else self.steps) + 1)), f"{letter} in 1..{last}"

    def queries(self, key: str) -> tuple[str, Any, str]:
        return "i", (lambda b: range(b[key] if self.causal else 1, self.steps + 1)), \
            f"i in {key if self.causal else 1}..{self.steps}"

    def value(self, refs: Any, which: str, first: str, second: str) -> Any:
        return refs.value(lambda b: names.attention_value(which, self.label, (b[first], b[second])))

    def signal(self, refs: Any, which: str, first: str, second: str) -> Any:
        return refs.signal(lambda b: names.attention_value(which, self.label, (b[first], b[second])))


def _sum(letters: tuple[str, Any, str], body: Expr) -> Sum:
    letter, values, shown = letters
    return Sum(letter, values, shown, body)


def forward(layer: Layer, refs: Any) -> tuple[str, list[Rule]]:
    """q, k, v; the scores; a, the softmax of each row over the keys; z; out."""
    head = _Head(layer)
    source, steps = refs.source(layer), head.steps
    found = []
    for role, position in (("q", "i"), ("k", "j"), ("v", "j")):
        x = refs.value(lambda b, position=position: source((b[position], b["f"])))
        found.append(Rule(head.value(refs, role, position, "c"),
                          (weighted(refs, head.stems[f"weight_{role}"], "c", "f", head.features, x,
                                    head.stems.get(f"bias_{role}")),),
                          refs.domain(span(position, steps), span("c", head.sizes[role]))))
    rows = refs.domain(span("i", steps), head.keys("j", "i"))
    dot: Expr = _sum(span("c", head.sizes["k"]), times(head.value(refs, "q", "i", "c"), head.value(refs, "k", "j", "c")))
    found.append(Rule(head.value(refs, "score", "i", "j"), (times(head.scale, dot) if head.scaled else dot,), rows,
                      "for j <= i: the causal mask" if head.causal else ""))
    score = head.value(refs, "score", "i", "j")
    row = _sum(head.keys("j'", "i"), Call("exp", head.value(refs, "score", "i", "j'")))
    found.append(Rule(head.value(refs, "a", "i", "j"), (Op("/", Call("exp", score), row),), rows,
                      "each row i over its keys" + (" j <= i" if head.causal else "")))
    found.append(Rule(head.value(refs, "z", "i", "c"),
                      (_sum(head.keys("j", "i"), times(head.value(refs, "a", "i", "j"), head.value(refs, "v", "j", "c"))),),
                      refs.domain(span("i", steps), span("c", head.sizes["v"]))))
    found.append(Rule(head.value(refs, "out", "i", "o"),
                      (weighted(refs, head.stems["weight_o"], "o", "c", head.sizes["v"], head.value(refs, "z", "i", "c"),
                                head.stems.get("bias_o")),),
                      refs.domain(span("i", steps), span("o", head.sizes["o"]))))
    scale = f"the scores scaled by 1/sqrt(d_k) = 1/sqrt({head.sizes['k']})" if head.scaled else "the scores not scaled"
    mask = "a causal mask: query i sees the keys j <= i only (the others have weight 0 and no score)" if head.causal \
        else "no mask"
    return (f"The rules (one head over positions i = 1..{steps}: {scale}; the softmax over the keys j of each row i, so "
            f"every row of a adds to 1; {mask}). As matrices, a row per position: Q = X Wq^T + bq, K = X Wk^T + bk, "
            "V = X Wv^T + bv, S = Q K^T" + (f" / sqrt({head.sizes['k']})" if head.scaled else "")
            + ", A = the softmax of each row of S, Z = A V, out = Z Wo^T + bo.", found)


def backward(layer: Layer, refs: Any) -> tuple[str, list[Rule]]:
    """From dE/dout back to z, a and v, through the softmax's Jacobian to the scores, to q and k, the weights, x."""
    head = _Head(layer)
    source, steps, stems = refs.source(layer), head.steps, head.stems
    sig, val = (lambda w, a, b: head.signal(refs, w, a, b)), (lambda w, a, b: head.value(refs, w, a, b))
    found = [Rule(sig("z", "i", "c"), (_sum(span("o", head.sizes["o"]), times(
        sig("out", "i", "o"), refs.shared(lambda b: names.with_position(stems["weight_o"], (b["o"], b["c"]))))),),
        refs.domain(span("i", steps), span("c", head.sizes["v"])))]
    rows = refs.domain(span("i", steps), head.keys("j", "i"))
    found.append(Rule(sig("a", "i", "j"), (_sum(span("c", head.sizes["v"]), times(sig("z", "i", "c"), val("v", "j", "c"))),),
                      rows))
    found.append(Rule(sig("v", "j", "c"), (_sum(head.queries("j"), times(val("a", "i", "j"), sig("z", "i", "c"))),),
                      refs.domain(span("j", steps), span("c", head.sizes["v"]))))
    same = Indicator("j'=j", "j' = j", lambda b: b["j'"] == b["j"])
    jacobian = _sum(head.keys("j'", "i"), times(sig("a", "i", "j'"), val("a", "i", "j'"), Op("-", same, val("a", "i", "j"))))
    mean = _sum(head.keys("j'", "i"), times(val("a", "i", "j'"), sig("a", "i", "j'")))
    found.append(Rule(sig("score", "i", "j"), (jacobian, times(val("a", "i", "j"), Op("-", sig("a", "i", "j"), mean))), rows))
    for role, own, other, letters in (("q", "i", "k", head.keys("j", "i")), ("k", "j", "q", head.queries("j"))):
        first, second = ("i", "j")
        body = times(sig("score", first, second), val(other, second if role == "q" else first, "c"))
        total: Expr = _sum(letters, body)
        found.append(Rule(sig(role, own, "c"), (times(head.scale, total) if head.scaled else total,),
                          refs.domain(span(own, steps), span("c", head.sizes["k"]))))
    for role in "qkvo":
        stem, size = stems[f"weight_{role}"], head.sizes[role]
        signal = sig("out" if role == "o" else role, "i", "m")
        operand = val("z", "i", "n") if role == "o" else refs.value(lambda b: source((b["i"], b["n"])))
        width = head.sizes["v"] if role == "o" else head.features
        found.append(Rule(refs.gradient(lambda b, stem=stem: names.with_position(stem, (b["m"], b["n"]))),
                          (refs.over_samples(_sum(span("i", steps), times(signal, operand))),),
                          ((("m", span("m", size)[1]), ("n", span("n", width)[1])))))
        if stems.get(f"bias_{role}"):
            bias = stems[f"bias_{role}"]
            found.append(Rule(refs.gradient(lambda b, bias=bias: names.with_position(bias, (b["m"],))),
                              (refs.over_samples(_sum(span("i", steps), signal)),), (("m", span("m", size)[1]),)))
    sent = plus(*(_sum(span("m", head.sizes[role]), times(
        sig(role, "i", "m"), refs.shared(lambda b, role=role: names.with_position(stems[f"weight_{role}"], (b["m"], b["n"])))))
        for role in "qkv"))
    found.append(Rule(refs.signal(lambda b: source((b["i"], b["n"]))), (sent,),
                      refs.domain(span("i", steps), span("n", head.features))))
    scale = f"1/sqrt({head.sizes['k']}) * " if head.scaled else ""
    return ("The rules (back from dE_total/dout, what the layer above sends). The softmax's Jacobian within a row: "
            "da[i,j']/dscore[i,j] = a[i,j'] ([j' = j] - a[i,j]) (0 across rows), so dE_total/dscore[i,j] = sum over "
            "the row's keys j' of dE_total/da[i,j'] times it, which is a[i,j] (dE_total/da[i,j] minus the a-weighted "
            f"mean of the row's dE_total/da). Then dE_total/dQ = {scale}dS K, dE_total/dK = {scale}dS^T Q, "
            "dE_total/dV = A^T dZ; each projection's weights are shared by every position, so a weight's gradient is "
            "a sum over the positions.", found)
