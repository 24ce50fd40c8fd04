"""What the commands share: the spec argument, common options, choices read from the registries, and
`emit` (print, or write the file atomically)."""

from __future__ import annotations

from typing import Any

import click

from stepgrad.api import load_spec  # noqa: F401  (commands load a spec argument through it)
from stepgrad.core.files import check_writable, write_atomic
from stepgrad.core.functions import ACTIVATIONS, LOSSES
from stepgrad.core.optim import OPTIMIZERS
from stepgrad.core.spec import UPDATE_ORDERS
from stepgrad.formats import FORMATS
from stepgrad.formats.escape import terminal

# click.Choice lists, read from the registries: a new entry is offered the moment it exists
ACTIVATION_CHOICES = list(ACTIVATIONS)
LOSS_CHOICES = list(LOSSES)
OPTIMIZER_CHOICES = list(OPTIMIZERS)
UPDATE_ORDER_CHOICES = list(UPDATE_ORDERS)
FORMAT_CHOICES = list(FORMATS)

spec_argument = click.argument("spec", required=False, type=click.Path(dir_okay=False))
update_order_option = click.option(
    "--update-order", type=click.Choice(UPDATE_ORDER_CHOICES), default=None,
    help="synchronous: all gradients from the old weights; sequential: each layer updated before "
         "the layer below computes its deltas. Default: the spec's.")
digits_option = click.option("--digits", type=click.IntRange(1, 17), default=9, show_default=True,
                             help="Significant digits shown.")
decimals_option = click.option("--decimals", type=click.IntRange(0, 15), default=None, metavar="N",
                               help="Show up to N decimals, as the seed deck prints (instead of --digits).")
def _writable(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """-o is checked before any work: a result is never computed only to be lost."""
    if value and value != "-":
        check_writable(value, where="--output")
    return value


output_option = click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=_writable,
                             help="Write to this file instead of the terminal.")
optimizer_option = click.option("--optimizer", type=click.Choice(OPTIMIZER_CHOICES), default="sgd",
                                show_default=True, help="The update rule: " + ", ".join(OPTIMIZER_CHOICES) + ".")


def note(message: str) -> None:
    """A line for the reader on standard error ("wrote FILE", notes), never mixed into the output."""
    click.echo(terminal(message), err=True)


def emit(result: Any, output: str | None) -> None:
    """Print text (or a rich renderable), or write text atomically to `output` ('-' is standard output).
    An empty string means the job printed its result itself."""
    if not isinstance(result, str):
        from rich.console import Console

        Console(highlight=False).print(result)
    elif output and output != "-":
        write_atomic(output, result)
        note(f"wrote {output}")
    elif result:
        click.echo(result, nl=not result.endswith("\n"))


max_work_option = click.option(
    "--max-work", type=click.FloatRange(min=1), default=None, metavar="N",
    help="Work budget in multiply-adds (training: samples x parameters x iterations); larger asks are "
         "refused before any work starts. Default: 2e11.")
