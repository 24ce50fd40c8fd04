"""`stepgrad diagram`: the network as an SVG or PNG picture."""

from __future__ import annotations

import click

from stepgrad.api import diagram_job
from stepgrad.cli._common import emit, note, spec_argument, update_order_option
from stepgrad.pictures.picture_file import picture_format, write_picture


@click.command("diagram")
@spec_argument
@click.option("--show", type=click.Choice(["weights", "gradients", "updated"]), default="weights", show_default=True,
              help="What the edges carry: the weights, their gradients dE_total/dw, or the weights after one update.")
@click.option("--after-update", is_flag=True, help="The network after one training step (same as --show updated).")
@click.option("--max-labels", type=click.IntRange(0), default=40, show_default=True, metavar="N",
              help="Label the edges of networks with at most N weights; larger ones are drawn thinner, unlabelled.")
@click.option("--digits", "digits", type=click.IntRange(1, 17), default=4, show_default=True,
              help="Significant digits on the labels.")
@update_order_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write net.svg, or net.png (drawn by cairosvg or Chromium), instead of SVG on the terminal.")
def command(spec, show, after_update, max_labels, digits, update_order, output):
    """Draw the network: neurons in columns, each weight's name and value on its edge, the biases,
    and net/out of every neuron from one forward pass.

    SPEC is a TOML or JSON network spec; without it, the seed deck's network.

    \b
    Examples:
      stepgrad diagram -o net.svg
      stepgrad diagram --show gradients -o gradients.svg
      stepgrad diagram net.toml --after-update -o after.png
    """
    to_file = output is not None and output != "-"
    if to_file:
        picture_format(output)  # refuse a wrong suffix before any work
    svg = diagram_job(spec, show="updated" if after_update else show, max_labels=max_labels, digits=digits,
                      update_order=update_order)
    if not to_file:
        return emit(svg, None)
    write_picture(svg, output)
    note(f"wrote {output}")
