"""`stepgrad names`: every quantity name of a training step, with its value."""

from __future__ import annotations

import json

import click

from ._common import digits_option, load_spec, spec_argument, update_order_option
from ..render.formula import number


@click.command("names")
@spec_argument
@digits_option
@update_order_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(spec, digits, update_order, fmt):
    """List every quantity name (the names `check`, JSON and the web page use) with its value.

    \b
    Example:
      stepgrad names | grep dE_total/dw
    """
    from ..explain import explain

    trace = explain(load_spec(spec), update_order=update_order)
    if fmt == "json":
        click.echo(json.dumps(trace.values, indent=2))
        return
    width = max(len(n) for n in trace.values)
    for section in trace.sections:
        click.echo(f"# {section.title}")
        for step in section.steps:
            click.echo(f"{step.name:<{width}} = {number(step.value, digits)}")
