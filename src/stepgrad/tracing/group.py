"""Regroup a trace the way the seed deck tells it: one weight at a time (`explain --group weight`).

    >>> trace = group(stepgrad.explain(stepgrad.builtin()), "weight")
    >>> [s.key for s in trace.sections][3:6]
    ['weight_w5', 'weight_w6', 'weight_w7']
    >>> [s.name for s in trace.section("weight_w5").steps]
    ['dE_total/dout_o1', 'dout_o1/dnet_o1', 'dnet_o1/dw5', 'dE_total/dw5', 'w5+']

The engine's trace goes layer by layer (every error signal of a layer, then every gradient, then
every update). The deck finishes one weight before the next: the factors its gradient needs,
the gradient, the new value. Here each factor is introduced the first time a weight needs it and
only referred to afterwards; the values and names are the trace's own (nothing is recomputed), so
both groupings hold exactly the same steps. Weights come in the deck's order: the output layer
first (w5..w8), then each layer below; a layer's biases follow its weights.
"""

from __future__ import annotations

from stepgrad.core import names
from stepgrad.core.trace import Section, Step, Trace

GROUPINGS = ("layer", "weight")
_BACKWARD = "backward_"
_UPDATES = ("update", "optimizer")  # update, update_2 (sequential order), optimizer (momentum, Adam)


def group(trace: Trace, by: str = "layer") -> Trace:
    """The trace grouped by `by`: "layer" (as computed) or "weight" (as the deck tells it)."""
    if by == "layer":
        return trace
    if by != "weight":
        raise ValueError(f"unknown grouping {by!r}; choose from {', '.join(GROUPINGS)}")
    backward = [s for s in trace.sections if s.key.startswith(_BACKWARD)]
    updates = [s for s in trace.sections if s.key.startswith(_UPDATES)]
    if not backward:
        return trace
    first = trace.sections.index(backward[0])
    before = [s for s in trace.sections[:first] if s not in updates]
    after = [s for s in trace.sections[first:] if s not in backward and s not in updates]
    return Trace(tuple(before + _by_parameter(trace, backward, updates) + after),
                 dict(trace.meta, grouping="weight"), trace.context)


def _by_parameter(trace: Trace, backward: list[Section], updates: list[Section]) -> list[Section]:
    order = {s.name: k for k, s in enumerate(trace)}  # every step keeps its place in the computation
    derived = {s.name: s for sec in backward for s in sec.steps}
    update_steps = [s for sec in updates for s in sec.steps]
    settings = [s for s in update_steps if not s.subject]  # hyperparameters: mu, beta1, t ...
    sections: list[Section] = []
    if settings:
        sections.append(Section("optimizer", "The optimizer's settings", tuple(settings),
                                "The same for every weight."))
    by_subject: dict[str, list[Step]] = {}  # indexed once: each parameter looks up its own steps (linear, not P x S)
    for s in update_steps:
        by_subject.setdefault(s.subject, []).append(s)
    shown: set[str] = set()
    # what some gradient needs: such a factor is shown where the first gradient that uses it is (the deck
    # computes dE_o1/dnet_o1 for w1, not for w5, whose product does not hold it)
    used = _closure([s.name for sec in backward for s in sec.steps if s.kind == "gradient"], derived, set())
    for sec in backward:
        output = sec is backward[0]
        gradients: dict[str, list[str]] = {}
        owned: dict[str, list[str]] = {}
        for s in sec.steps:
            if s.kind == "gradient":
                gradients.setdefault(s.subject, []).append(s.name)
            owned.setdefault(_owner(s, sec, trace.meta), []).append(s.name)
        for parameter, kind in _parameters(sec, trace.meta):
            needed = _closure(gradients.get(parameter, []), derived, shown)
            # Steps no gradient needs (a hidden neuron's delta when its bias is frozen) stay with the
            # first weight into their neuron, so the two groupings hold the same steps.
            needed |= {name for name in owned.get(parameter, []) if name not in shown and name not in used}
            shown |= needed
            steps = _worked_order(gradients.get(parameter, []), needed, derived, order)
            steps += by_subject.get(parameter, [])
            sections.append(Section(f"{kind}_{parameter}", f"The {parameter} change", tuple(steps),
                                    _intro(parameter, output), _plan(steps, parameter)))
    return sections


def _worked_order(roots: list[str], needed: set[str], derived: dict[str, Step], order: dict[str, int]) -> list[Step]:
    """The needed steps as the deck works them out: each factor right before the product that uses it
    (depth first from the gradients), then any step no gradient uses, in the order computed."""
    seen: list[str] = []

    def visit(name: str) -> None:
        if name in seen or name not in needed:
            return
        seen.append(name)  # marked before its operands: a name is visited once
        for operand in derived[name].operands:
            visit(operand)
        seen.remove(name)
        seen.append(name)

    for root in roots:
        visit(root)
    rest = sorted((n for n in needed if n not in seen), key=order.__getitem__)
    return [derived[n] for n in seen + rest]


def _plan(steps: list[Step], parameter: str) -> tuple[str, ...]:
    """The chain rule the section works out, stated first: the parameter's gradient (sample 1's and the
    batch mean's) and, at a hidden neuron, how its dE_total/dout gathers the outputs' shares."""
    plan = []
    for s in steps:
        if not names.is_name(s.name) or not s.operands:
            continue
        name = names.parse(s.name)
        if name.sample not in (None, 1) or name.bottom is None or name.top is None:
            continue
        if (s.kind == "gradient" and s.subject == parameter) or (
                name.top.kind == "error" and name.top.neuron is None and name.bottom.kind == "out" and all("/" in o for o in s.operands)):
            plan.append(s.name)
    gradients = [p for p in plan if names.parse(p).bottom.kind in ("weight", "bias")]  # type: ignore[union-attr]
    return tuple(gradients + [p for p in plan if p not in gradients])


def _parameters(sec: Section, meta: dict) -> list[tuple[str, str]]:
    """(name, "weight" or "bias"): the weights, then the trained biases, of the section's layer
    (`backward_2` is weight layer 2)."""
    layer = int(sec.key[len(_BACKWARD):]) - 1
    weights = [(w, "weight") for row in meta["weights"][layer] for w in row]
    subjects = {s.subject for s in sec.steps}
    biases = [(b, "bias") for b in meta["biases"][layer] if b in subjects]
    return weights + biases


def _closure(roots: list[str], derived: dict[str, Step], shown: set[str]) -> set[str]:
    """The roots and every backward-pass factor they need that has not been shown yet."""
    needed: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in needed or name in shown or name not in derived:
            continue
        needed.add(name)
        todo.extend(derived[name].operands)
    return needed


def _owner(step: Step, sec: Section, meta: dict) -> str:
    """The first weight into the step's neuron (or the step's own weight or bias)."""
    layer = int(sec.key[len(_BACKWARD):]) - 1
    neurons = meta["neurons"][layer + 1]
    if step.subject in neurons:
        return meta["weights"][layer][neurons.index(step.subject)][0]
    return step.subject


def _intro(parameter: str, output: bool) -> str:
    if output:
        return f"How much does {parameter} change the total error? The chain rule, one factor at a time; then the update."
    return (f"{parameter} reaches the error through every neuron above it: the paths add up. "
            "Factors found for earlier weights are referred to, not derived again.")
