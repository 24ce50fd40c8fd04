"""`stepgrad graph`: the step's computation graph, every scalar operation with its value and gradient."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import StepgradError
from ._common import emit, load_spec, spec_argument, update_order_option, write_atomic

FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".pdf": "pdf", ".png": "png"}


@click.command("graph")
@spec_argument
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="graph.svg, graph.pdf, graph.png (laid out by Graphviz) or graph.dot; default: DOT on standard output.")
@click.option("--only", default=None, metavar="PARAMETER",
              help="Keep the subgraph this weight's or bias's gradient flows through, e.g. w1.")
@click.option("--sample", type=click.IntRange(1), default=None, help="Only this sample (1-based).")
@click.option("--digits", type=click.IntRange(1, 17), default=6, show_default=True, help="Significant digits shown.")
@update_order_option
def command(spec, output, only, sample, digits, update_order):
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
    from ..explain import explain
    from ..graph import computation_graph

    fmt = "dot"
    if output and output != "-":
        suffix = Path(output).suffix.lower()
        if suffix not in FORMATS:
            raise StepgradError(f"unknown graph format {suffix or '(none)'!r}; use one of {', '.join(FORMATS)}",
                                where="--output")
        fmt = FORMATS[suffix]
    net = load_spec(spec)
    inputs, _ = net.require_samples(spec or "<built-in>")
    if sample is not None and sample > len(inputs):
        raise StepgradError(f"there are only {len(inputs)} samples", where="--sample")
    trace = explain(net, sample=None if sample is None else sample - 1, update_order=update_order)
    graph = computation_graph(trace)
    if only:
        graph = graph.only(only.strip())
    if fmt == "dot":
        emit(graph.to_dot(digits), output)
        return
    write_atomic(output, graph.render(fmt, digits))
    click.echo(f"wrote {output}", err=True)
