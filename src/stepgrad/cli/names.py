"""`stepgrad names`: every quantity name of a training step, with its value (stepgrad.api.quantity_names)."""

from __future__ import annotations

import click

from stepgrad.api import Display, quantity_names
from stepgrad.cli._common import (
    api_option,
    decimals_option,
    digits_option,
    emit,
    max_work_option,
    spec_argument,
    update_order_option,
)

API = quantity_names


@click.command("names")
@spec_argument
@digits_option(API)
@decimals_option(API)
@update_order_option(API)
@api_option(API, "--format", "fmt", type=click.Choice(["text", "json"]))
@max_work_option(API)
def command(spec, digits, decimals, update_order, fmt, max_work):
    """List every quantity name (the names `check`, JSON and the web page use) with its value.

    \b
    Example:
      stepgrad names | grep dE_total/dw
    """
    emit(quantity_names(spec, fmt=fmt, display=Display(digits=digits, decimals=decimals), update_order=update_order, max_work=max_work),
         None)
