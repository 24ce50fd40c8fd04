"""`stepgrad diagram`: the network as an SVG or PNG picture (stepgrad.api.network_diagram)."""

from __future__ import annotations

import click

from stepgrad.api import network_diagram
from stepgrad.cli._common import api_option, emit, max_work_option, note, spec_argument, update_order_option

API = network_diagram


@click.command("diagram")
@spec_argument
@api_option(API, "--show", type=click.Choice(["weights", "gradients", "updated"]),
            help="What the edges carry: the weights, their gradients dE_total/dw, or the weights after one update.")
@click.option("--after-update", is_flag=True, help="The network after one training step (same as --show updated).")
@api_option(API, "--max-labels", type=click.IntRange(0), metavar="N",
            help="Label the edges of networks with at most N weights; larger ones are drawn thinner, unlabelled.")
@api_option(API, "--digits", type=click.IntRange(1, 17), help="Significant digits on the labels.")
@update_order_option(API)
@api_option(API, "-o", "--output", type=click.Path(dir_okay=False),
            help="Write net.svg, or net.png (drawn by cairosvg or Chromium), instead of SVG on the terminal.")
@max_work_option(API)
def command(spec, show, after_update, max_labels, digits, update_order, output, max_work):
    """Draw the network: neurons in columns, each weight's name and value on its edge, the biases,
    and net/out of every neuron from one forward pass.

    SPEC is a TOML or JSON network spec; without it, the seed deck's network.

    \b
    Examples:
      stepgrad diagram -o net.svg
      stepgrad diagram --show gradients -o gradients.svg
      stepgrad diagram net.toml --after-update -o after.png
    """
    emit(network_diagram(spec, show="updated" if after_update else show, max_labels=max_labels, digits=digits,
                         update_order=update_order, output=output, max_work=max_work, note=note), None)
