"""`stepgrad graph`: the step's computation graph, every scalar operation with its value and gradient."""

from __future__ import annotations

import click

from stepgrad.api import graph_job
from stepgrad.cli._common import emit, note, spec_argument, update_order_option


@click.command("graph")
@spec_argument
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="graph.svg, graph.pdf, graph.png (laid out by Graphviz) or graph.dot; default: DOT on standard output.")
@click.option("--only", default=None, metavar="PARAMETER",
              help="Keep the subgraph this weight's or bias's gradient flows through, e.g. w1.")
@click.option("--sample", type=click.IntRange(1), default=None, help="Only this sample (1-based).")
@click.option("--digits", type=click.IntRange(1, 17), default=6, show_default=True, help="Significant digits shown.")
@update_order_option
def command(spec, **options):
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
    result = graph_job(spec, note=note, **options)
    emit(result, options["output"] if result else None)  # "" when Graphviz wrote the file itself
