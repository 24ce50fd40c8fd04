"""`stepgrad names`: every quantity name of a training step, with its value."""

from __future__ import annotations

import click

from stepgrad.api import names_job
from stepgrad.cli._common import digits_option, emit, max_work_option, spec_argument, update_order_option


@click.command("names")
@spec_argument
@digits_option
@update_order_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@max_work_option
def command(spec, digits, update_order, fmt, max_work):
    """List every quantity name (the names `check`, JSON and the web page use) with its value.

    \b
    Example:
      stepgrad names | grep dE_total/dw
    """
    emit(names_job(spec, digits=digits, update_order=update_order, fmt=fmt, max_work=max_work), None)
