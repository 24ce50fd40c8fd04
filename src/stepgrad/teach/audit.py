"""Audit a published worked example: which configuration best explains its printed figures, and which remain slips.

    >>> from stepgrad.teach.deck_figures import transcription
    >>> from stepgrad.core.spec import builtin
    >>> result = audit(builtin(), transcription())
    >>> result.best.describe(result.base)
    'as the spec says (synchronous update order, mean over the batch, ½ in the error, biases fixed)'
    >>> [(f.name, f.explained_by) for f in result.figures if f.kind == "setting"]
    [('E_total+', 'the sequential update order')]

Each configuration is a variant of the spec along the settings a published example may have used without
saying so (SETTINGS): the update order (synchronous: every gradient from the old weights; sequential: each
layer updated before the layer below computes its deltas), the batch's reduction (mean or sum), the ½ in
the squared error, and whether the biases are updated. Every variant marks the figures with
`stepgrad check`; the one with the most figures correct explains the example best (the spec's own settings
win a tie). A figure that is not correct there is explained by the nearest other configuration that gives it
exactly, or else it is a slip, with the checker's reason (a known mistake, an earlier slip carried forward,
rounding). Figures after training are written `NAME@ITERATIONS = value` (E_total@10000 = 0.0000351085): each
configuration trains that long and is compared the same way.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from stepgrad.core import names
from stepgrad.core.errors import StepgradError
from stepgrad.core.functions import LOSSES
from stepgrad.core.spec import Network
from stepgrad.core.trace import Section, Trace
from stepgrad.teach.check import check
from stepgrad.teach.check.formula import evaluate, parse
from stepgrad.teach.check.precision import matches
from stepgrad.teach.check.solution import Given, Solution
from stepgrad.teach.check.verdicts import Report, Result
from stepgrad.tracing.build import explain

SETTINGS = ("update_order", "reduction", "half", "update_biases")
MAX_TRAINING = 100_000  # iterations a training figure may ask for


@dataclass(frozen=True)
class Config:
    """One way to compute the example: the update order, the batch's reduction, ½ in the error (None: the loss
    has no ½ to drop), biases updated."""

    update_order: str
    reduction: str
    half: bool | None
    update_biases: bool

    def differences(self, base: Config) -> list[str]:
        """What this configuration does differently from `base`, in words."""
        out = []
        if self.update_order != base.update_order:
            out.append(f"the {self.update_order} update order")
        if self.reduction != base.reduction:
            out.append("the batch's gradient summed, not averaged" if self.reduction == "sum" else
                       "the batch's gradient averaged, not summed")
        if self.half != base.half:
            out.append("the error without ½ (E = Σ (target − out)²)" if not self.half else "the error with ½")
        if self.update_biases != base.update_biases:
            out.append("the biases updated too" if self.update_biases else "the biases not updated")
        return out

    def short(self, base: Config) -> str:
        """What differs from the spec, or 'the spec's settings'."""
        return ", ".join(self.differences(base)) or "the spec's settings"

    def describe(self, base: Config) -> str:
        """'as the spec says (...)' or what differs from the spec."""
        half = "" if self.half is None else ("½ in the error, " if self.half else "no ½ in the error, ")
        settings = (f"{self.update_order} update order, {self.reduction} over the batch, {half}"
                    f"biases {'updated' if self.update_biases else 'fixed'}")
        changed = self.differences(base)
        return f"as the spec says ({settings})" if not changed else f"{', '.join(changed)} ({settings})"

    def to_dict(self) -> dict[str, Any]:
        return {"update_order": self.update_order, "reduction": self.reduction, "half": self.half,
                "update_biases": self.update_biases}


def base_config(net: Network) -> Config:
    """The configuration the spec states."""
    return Config(net.update_order, net.reduction, True if net.loss == "half_squared_error" else None, net.update_biases)


def configurations(net: Network, settings: Iterable[str] | None = None) -> list[Config]:
    """Every configuration the spec allows along `settings` (default: all that apply), the spec's own first."""
    wanted = set(settings or SETTINGS)
    unknown = wanted - set(SETTINGS)
    if unknown:
        raise StepgradError(f"expected some of {', '.join(SETTINGS)}, got {sorted(unknown)[0]!r}", where="--settings")
    base = base_config(net)
    samples = 1 if net.inputs is None else len(net.inputs)
    orders = ("synchronous", "sequential") if "update_order" in wanted and net.depth > 1 else (base.update_order,)
    reductions = ("mean", "sum") if "reduction" in wanted and samples > 1 else (base.reduction,)
    halves = (True, False) if "half" in wanted and net.loss == "half_squared_error" else (base.half,)
    biases = (False, True) if "update_biases" in wanted else (base.update_biases,)
    found = [Config(o, r, h, b) for o, r, h, b in itertools.product(orders, reductions, halves, biases)]
    return sorted(found, key=lambda c: len(c.differences(base)))


def variant(net: Network, config: Config) -> Network:
    """The spec computed the configuration's way (the ½ is taken out of the trace, see `without_half`)."""
    changed = net.copy()
    changed.update_order, changed.reduction, changed.update_biases = config.update_order, config.reduction, config.update_biases
    if changed.trainable is not None and config.update_biases != net.update_biases:  # every bias, or none, as asked
        changed.trainable = changed.trainable[:net.depth] + [config.update_biases] * net.depth
    return changed


def without_half(trace: Trace) -> Trace:
    """The trace with the squared error's ½ dropped wherever the half squared error or its derivative is written,
    every value recomputed in order (E = (target - out)^2, dE/dout = -2 (target - out))."""
    half, plain = LOSSES["half_squared_error"], LOSSES["mean_squared_error"]  # mean over n = 1 output: no ½
    values: dict[str, float] = {}
    sections = []
    for sec in trace.sections:
        steps = []
        for step in sec.steps:
            text = step.text
            targets = [o for o in step.operands if names.parse(o).kind == "target"]
            outs = [o for o in step.operands if names.parse(o).kind == "out"]
            if len(targets) == 1 and len(outs) == 1:
                roles = {"«target»": f"«{targets[0]}»", "«out»": f"«{outs[0]}»", "«n»": "1"}
                for written, mistaken in ((half.text, plain.text), (half.gradient_text, plain.gradient_text)):
                    if _fill(written, roles) == step.text:
                        text = _fill(mistaken, roles)
            value = step.value if not step.text else float(evaluate(parse(text), values.__getitem__))
            values[step.name] = value
            steps.append(replace(step, text=text, value=value))
        sections.append(Section(sec.key, sec.title, tuple(steps), sec.intro))
    return Trace(tuple(sections), dict(trace.meta, half=False), trace.context)


def _fill(template: str, roles: dict[str, str]) -> str:
    for role, slot in roles.items():
        template = template.replace(role, slot)
    return template


@dataclass(frozen=True)
class Figure:
    """One printed figure: `kind` correct (in the best configuration), follows (computed from the printed figures
    above it: an earlier slip carried forward), setting (another configuration gives it: `explained_by`), or slip
    (with `reason`); `number` counts the figures in the order printed."""

    number: int
    name: str
    printed: str
    kind: str
    expected: float | None
    explained_by: str | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        expected = None if self.expected is None or not math.isfinite(self.expected) else self.expected
        return {"number": self.number, "name": self.name, "printed": self.printed, "kind": self.kind,
                "expected": expected, "explained_by": self.explained_by, "reason": self.reason}


@dataclass(frozen=True)
class Audit:
    """The audit of one worked example: the spec's configuration, the best one, every figure's finding."""

    source: str
    network: str
    base: Config
    best: Config
    scores: tuple[tuple[Config, int], ...]  # configuration, figures correct in it
    figures: tuple[Figure, ...]

    def summary(self) -> str:
        """'figures 1-37 correct; 38 follows the sequential update order; 41 is a slip (...)'."""
        parts = []
        correct = [f.number for f in self.figures if f.kind == "correct"]
        if correct:
            parts.append(f"figure{'s' * (len(correct) > 1)} {_ranges(correct)} correct")
        by: dict[str, list[int]] = {}
        for f in self.figures:
            if f.kind == "setting":
                by.setdefault(str(f.explained_by), []).append(f.number)
        parts += [f"{_ranges(n)} follow{'s' * (len(n) == 1)} {what}" for what, n in by.items()]
        carried = [f.number for f in self.figures if f.kind == "follows"]
        if carried:
            parts.append(f"{_ranges(carried)} follow{'s' * (len(carried) == 1)} from earlier slips")
        slips = [f for f in self.figures if f.kind == "slip"]
        if slips:
            parts.append(f"{_ranges([f.number for f in slips])} {'is a slip' if len(slips) == 1 else 'are slips'}")
        return "; ".join(parts) + "."

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "network": self.network, "spec": self.base.to_dict(), "best": self.best.to_dict(),
                "best_described": self.best.describe(self.base), "summary": self.summary(),
                "scores": [{"configuration": c.to_dict(), "correct": n} for c, n in self.scores],
                "figures": [f.to_dict() for f in self.figures]}


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5] -> '1-3, 5'."""
    out: list[str] = []
    for _, group in itertools.groupby(enumerate(sorted(numbers)), key=lambda p: p[1] - p[0]):
        run = [n for _, n in group]
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ", ".join(out)


# -- the audit -----------------------------------------------------------------------------------------

def _split_training(solution: Solution) -> tuple[Solution, list[tuple[Given, str, int]]]:
    """The step's figures, and the training figures NAME@N (given, name, iterations)."""
    step, trained = [], []
    for g in solution.answers:
        if "@" in g.name:
            name, _, count = g.name.partition("@")
            if not count.strip().isdigit() or not 0 < int(count) <= MAX_TRAINING:
                raise StepgradError(f"line {g.line}: expected NAME@ITERATIONS with 1 to {MAX_TRAINING:,} iterations, "
                                    f"got {g.name!r}", where=solution.source)
            trained.append((g, name.strip(), int(count)))
        else:
            step.append(g)
    return replace(solution, answers=tuple(step)), trained


def _trained_values(net: Network, config: Config, iterations: int) -> dict[str, float]:
    """The quantities after training the configuration's way (no ½: twice the gradient, twice the error)."""
    from stepgrad.training.loop import train

    trained = variant(net, config)
    if config.half is False:
        trained.learning_rate = 2 * net.learning_rate  # d/dw of (t - o)^2 is twice that of ½ (t - o)^2
    values = train(trained, iterations, every=iterations).values()
    if config.half is False:
        values = {k: 2 * v if names.parse(k).kind == "error" else v for k, v in values.items()}
    return values


def _given(g: Given, name: str) -> Given:
    return Given(name, g.text, g.decimal, g.line)


def audit(net: Network, solution: Solution, settings: Iterable[str] | None = None) -> Audit:
    """Mark the solution in every configuration of `net` along `settings`; the best explanation and every figure's finding."""
    step_figures, trained = _split_training(solution)
    base = base_config(net)
    configs = configurations(net, settings)
    reports: dict[Config, Report] = {}
    made: dict[Config, Trace] = {}  # every configuration's step, once: the other order's is another configuration's

    def step_of(config: Config) -> Trace:
        if config not in made:
            made[config] = explain(variant(net, config))
            if config.half is False:
                made[config] = without_half(made[config])
        return made[config]

    for config in configs:
        flipped = replace(config, update_order="sequential" if config.update_order == "synchronous" else "synchronous")
        other = step_of(flipped) if net.depth > 1 else None
        reports[config] = check(variant(net, config), step_figures, prepared=(step_of(config), other))
    training: dict[tuple[Config, int], dict[str, float]] = {}

    def trained_value(config: Config, name: str, iterations: int) -> float | None:
        if (config, iterations) not in training:
            training[config, iterations] = _trained_values(net, config, iterations)
        return training[config, iterations].get(name)

    for g, name, count in trained:
        if trained_value(base, name, count) is None:
            raise StepgradError(f"line {g.line}: no quantity {name!r} after training (out_o1, E_total, w1, ...)",
                                where=solution.source)

    def correct_in(config: Config) -> set[str]:
        found = {r.name for r in reports[config].results if r.verdict == "correct"}
        for g, name, count in trained:
            value = trained_value(config, name, count)
            if value is not None and matches(_given(g, name), value):
                found.add(g.name)
        return found

    correct = {c: correct_in(c) for c in configs}
    best = max(configs, key=lambda c: (len(correct[c]), -len(c.differences(base))))
    scores = tuple((c, len(correct[c])) for c in configs)
    by_name = {r.name: r for r in reports[best].results}
    for g, name, count in trained:  # what the best configuration gives after training, beside the figure
        by_name[g.name] = Result(g.name, g.text, "trained", expected=trained_value(best, name, count))
    figures = []
    for number, g in enumerate(solution.answers, 1):
        if g.name in correct[best]:
            figures.append(Figure(number, g.name, g.text, "correct", _expected(by_name.get(g.name))))
            continue
        others = sorted((c for c in configs if g.name in correct[c] and c != best), key=lambda c: len(c.differences(best)))
        result = by_name.get(g.name)
        if result is not None and result.verdict == "follows":  # consistent with the figures above it: no new slip
            also = f"; it is also {' and '.join(others[0].differences(best))}'s value" if others else ""
            figures.append(Figure(number, g.name, g.text, "follows", result.expected, None,
                                  f"computed from the printed figures above it ({result.route} route): an earlier "
                                  f"slip carried forward{also}"))
            continue
        if others:
            theirs = {r.name: r for r in reports[others[0]].results}.get(g.name)
            there = theirs.expected if theirs is not None else next(
                (trained_value(others[0], n, c) for gg, n, c in trained if gg is g), None)
            given_there = f" (it gives {there:.9g})" if there is not None else ""
            figures.append(Figure(number, g.name, g.text, "setting", _expected(result),
                                  " and ".join(others[0].differences(best)), given_there.strip(" ()")))
            continue
        figures.append(Figure(number, g.name, g.text, "slip", _expected(result), None,
                              _reason(result, g, trained, best, trained_value, solution)))
    return Audit(solution.source, net.name or "", base, best, scores, tuple(figures))


def _expected(result: Result | None) -> float | None:
    return result.expected if result is not None else None


def _reason(result: Result | None, g: Given, trained: list, best: Config, trained_value, solution: Solution) -> str:
    if result is None or result.verdict == "trained":  # a training figure
        name, count = next((n, c) for gg, n, c in trained if gg is g)
        value = trained_value(best, name, count)
        return f"no configuration gives it; after {count:,} iterations {name} is {value:.9g} (best configuration)"
    if result.verdict == "unknown":
        return result.diagnosis or "an unknown quantity"
    if result.verdict == "close":
        return f"rounding: {result.given} for {result.expected:.9g} (relative error {result.relative_error:.1e})"
    if result.diagnosis:
        return result.diagnosis
    return f"no known mistake explains it (the step gives {result.expected:.9g})"
