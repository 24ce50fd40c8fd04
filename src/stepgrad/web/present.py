"""What the page shows of a trace: each step's equation as MathML, the paths of a hidden weight,
and the network diagram. Formats only; every number comes from the trace.

The MathML and the SVG come from the renderers (`stepgrad.formats.mathml.to_mathml`,
`stepgrad.pictures.diagram.network_svg`); this module only calls them.
"""

from __future__ import annotations

from typing import Any

from stepgrad.core.names import latex_symbol
from stepgrad.core.spec import Network
from stepgrad.core.trace import Step, Trace
from stepgrad.formats.formula import derivation_rows, equation, number, shows_numbers, substituted, symbolic

MATH_LIMIT = 1_000  # above this many steps, the full trace is sent as values only (the selection keeps its math)


def to_mathml(latex: str) -> str:
    """Display (block) MathML for a LaTeX formula, from the project's MathML renderer."""
    from stepgrad.formats.mathml import to_mathml as convert

    return convert(latex, display=True)


def diagram(net: Network, trace: Trace, show: str, digits: int) -> str:
    """The network diagram as SVG: the trace's net/out on neurons, `show` (weights, gradients,
    updated) on the edges; every element carries data-name="w5" / "h1" for the page."""
    from stepgrad.pictures.diagram import network_svg

    return network_svg(net, trace, show=show, digits=digits)


LEVELS = (3, 4, 6)  # the diagram's label digits at growing zoom; the last level has all the digits asked for


def diagram_levels(net: Network, trace: Trace, show: str, digits: int, tip_digits: int, selected: str | None = None,
                   labelled: int = 40) -> list[dict[str, Any]]:
    """The diagram at each zoom level: [{digits, width, height, svg}], fewest digits first.

    The page shows the level whose labels fit the room it has at a readable size (stepgrad.web.static.diagram),
    so the digits follow the zoom; a network too big for edge labels has one level."""
    import re

    from stepgrad.pictures.diagram import network_svg

    chosen = [d for d in LEVELS if d < digits] + [digits]
    if sum(net.layers[k] * net.layers[k + 1] for k in range(len(net.layers) - 1)) > labelled:
        chosen = [digits]
    levels = []
    for d in chosen:
        svg = network_svg(net, trace, show=show, digits=d, tip_digits=tip_digits, selected=selected)
        size = re.search(r'viewBox="0 0 ([0-9.]+) ([0-9.]+)"', svg)
        assert size is not None  # network_svg always writes its viewBox
        levels.append({"digits": d, "width": float(size[1]), "height": float(size[2]), "svg": svg})
    return levels


def step_view(step: Step, trace: Trace, digits: int, math: bool = True) -> dict[str, Any]:
    """One step for the page: name, value, the deck's text line and (math=True) its MathML."""
    view: dict[str, Any] = {
        "name": step.name, "kind": step.kind, "value": step.value, "shown": number(step.value, digits),
        "subject": step.subject, "note": step.note,
    }
    if not math:
        return view
    lhs = latex_symbol(step.name)
    value = number(step.value, digits, "latex")
    view["text"] = equation(step, trace, digits, "text")
    rows = derivation_rows(step, "latex")  # explain --derive: lhs = row 1 = ... = the formula, each with its rule
    if rows:
        view["formula"] = to_mathml(f"{lhs} = {rows[0][0]}")
        view["derivation"] = [{"mathml": to_mathml(f"= {row}"), "rule": rule} for row, rule in rows[1:]]
        view["rule"] = rows[0][1]
    elif step.latex:
        view["formula"] = to_mathml(f"{lhs} = {symbolic(step, 'latex')}")
    if step.latex:
        numbers = f"= {substituted(step, trace, digits, 'latex')} " if shows_numbers(step) else ""
        view["substituted"] = to_mathml(f"{numbers}= {value}")
    elif not rows:
        view["formula"] = to_mathml(f"{lhs} = {value}")
    if step.paths:
        view["paths"] = [path_view(p.factors, p.value, trace, digits) for p in step.paths]
    view["path_count"] = step.path_count
    return view


def path_view(factors: tuple[str, ...], value: float, trace: Trace, digits: int) -> dict[str, Any]:
    """One path from a hidden weight to an output: its chain-rule factors, their numbers, its share."""
    symbols = r" \cdot ".join(latex_symbol(f) for f in factors)
    numbers = r" \cdot ".join(_signed(trace.lookup(f), digits) for f in factors)
    return {
        "factors": list(factors), "value": value,
        "text": " * ".join(factors) + f" = {number(value, digits)}",
        "mathml": to_mathml(f"{symbols} = {numbers} = {number(value, digits, 'latex')}"),
    }


def _signed(x: float, digits: int) -> str:
    s = number(x, digits, "latex")
    return f"({s})" if x < 0 else s


def sections_view(trace: Trace, digits: int, math: bool | set[str], math_steps: int | None = None) -> list[dict[str, Any]]:
    """Every section with its steps; MathML for all (True), none (False) or the sections named, and there
    for the first `math_steps` steps of each (None: all), so a long section answers quickly (the page lists
    the rest by value and asks for more)."""
    def wanted(key: str, k: int) -> bool:
        if isinstance(math, bool):
            return math
        return key in math and (math_steps is None or k < math_steps)

    return [
        {"key": sec.key, "title": sec.title, "intro": sec.intro,
         "steps": [step_view(s, trace, digits, wanted(sec.key, k)) for k, s in enumerate(sec.steps)]}
        for sec in trace.sections
    ]


def step_count(trace: Trace) -> int:
    """How many steps the trace has."""
    return sum(len(sec.steps) for sec in trace.sections)
