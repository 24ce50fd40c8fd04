"""`stepgrad graph`: the step's computation graph, every scalar operation with its value and gradient (stepgrad.api.step_graph)."""

from __future__ import annotations

import click

from stepgrad.api import Display, step_graph
from stepgrad.cli._common import (
    api_option,
    decimals_option,
    digits_option,
    emit,
    max_work_option,
    note,
    spec_argument,
    update_order_option,
)

API = step_graph


@click.command("graph")
@spec_argument
@api_option(API, "-o", "--output", type=click.Path(dir_okay=False),
            help="graph.svg, graph.pdf, graph.png (laid out by Graphviz) or graph.dot; default: DOT on standard output.")
@api_option(API, "--only", metavar="PARAMETER",
            help="Keep the subgraph this weight's or bias's gradient flows through, e.g. w1.")
@api_option(API, "--sample", type=click.IntRange(1), help="Only this sample (1-based).")
@digits_option(API)
@decimals_option(API)
@update_order_option(API)
@max_work_option(API)
def command(spec, output, only, sample, digits, decimals, update_order, max_work):
    """Draw the computation graph of one training step: every multiply, add, activation and loss
    node with its forward value and its gradient (named as in the derivation: net_h1,
    dE_total/dnet_h1, ...). SVG, PDF and PNG need Graphviz (`pip install 'stepgrad[graph]'` and
    the `dot` program); DOT needs nothing.

    \b
    Examples:
      stepgrad graph -o graph.svg
      stepgrad graph --only w1 -o w1.pdf
      stepgrad graph net.toml --sample 2 -o step.dot
    """
    result = step_graph(spec, only=only, sample=sample, display=Display(digits=digits, decimals=decimals),
                        update_order=update_order, output=output, max_work=max_work, note=note)
    emit(result, output if result else None)  # "" when Graphviz wrote the file itself
