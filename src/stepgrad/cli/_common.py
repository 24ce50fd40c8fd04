"""What the commands share: `api_option` (an option whose default is the API's), the spec argument, common
options, choices read from the registries, and `emit` (print, or write the file atomically)."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import click

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


def api_default(function: Callable[..., Any], name: str) -> Any:
    """The default of `name` in the API: a parameter of `function`, or a field of the option record that is
    one of its parameters' defaults (Display.digits is 4 in one function, 9 in another: the record given)."""
    for parameter in inspect.signature(function).parameters.values():
        if parameter.name == name:
            return parameter.default
        if dataclasses.is_dataclass(parameter.default) and name in {f.name for f in dataclasses.fields(parameter.default)}:
            return getattr(parameter.default, name)
    raise LookupError(f"{function.__name__} has no parameter or option field {name!r}")


def api_option(function: Callable[..., Any], *decls: str, **attrs: Any) -> Callable[[Any], Any]:
    """click.option(*decls, **attrs) whose default is `function`'s (see api_default): declared once, in the API."""
    dashed = max((d.split("/")[0] for d in decls), key=len)  # --update-biases/--no-update-biases: the first
    name = next((d for d in decls if d.isidentifier()), None) or dashed.lstrip("-").replace("-", "_")
    default = api_default(function, name)
    attrs.setdefault("show_default", default is not None and not attrs.get("is_flag", False))
    return click.option(*decls, default=default, **attrs)


spec_argument = click.argument("spec", required=False, type=click.Path(dir_okay=False))


def update_order_option(function: Callable[..., Any]) -> Callable[[Any], Any]:
    """--update-order, with `function`'s default (None: the spec's)."""
    return api_option(function, "--update-order", type=click.Choice(UPDATE_ORDER_CHOICES),
                      help="synchronous: all gradients from the old weights; sequential: each layer updated before "
                           "the layer below computes its deltas. Default: the spec's.")


def digits_option(function: Callable[..., Any]) -> Callable[[Any], Any]:
    """--digits, with `function`'s default."""
    return api_option(function, "--digits", type=click.IntRange(1, 17), help="Significant digits shown.")


def decimals_option(function: Callable[..., Any]) -> Callable[[Any], Any]:
    """--decimals, with `function`'s default (None: --digits decides)."""
    return api_option(function, "--decimals", type=click.IntRange(0, 15), metavar="N",
                      help="Show up to N decimals, as the seed deck prints (instead of --digits).")


def max_work_option(function: Callable[..., Any]) -> Callable[[Any], Any]:
    """--max-work, with `function`'s default (None: the command line's budget)."""
    return api_option(function, "--max-work", type=click.FloatRange(min=1), metavar="N",
                      help="Work budget in multiply-adds (training: samples x parameters x iterations); larger "
                           "asks are refused before any work starts. Default: 2e11.")


def _writable(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """-o is checked before any work: a result is never computed only to be lost."""
    if value and value != "-":
        check_writable(value, where="--output")
    return value


output_option = click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=_writable,
                             help="Write to this file instead of the terminal.")


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

