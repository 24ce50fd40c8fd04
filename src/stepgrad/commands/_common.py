"""What the commands share: loading a spec argument, writing output files atomically, the console."""

from __future__ import annotations

import click

from ..errors import StepgradError
from ..files import write_atomic  # noqa: F401  (commands write files through it)
from ..spec import Network, builtin, load

spec_argument = click.argument("spec", required=False, type=click.Path(dir_okay=False))
update_order_option = click.option(
    "--update-order", type=click.Choice(["synchronous", "sequential"]), default=None,
    help="synchronous: all gradients from the old weights; sequential: each layer updated before "
         "the layer below computes its deltas. Default: the spec's.")
digits_option = click.option("--digits", type=click.IntRange(1, 17), default=9, show_default=True,
                             help="Significant digits shown.")
output_option = click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
                             help="Write to this file instead of the terminal.")


def load_spec(spec: str | None) -> Network:
    """The network from a spec file, or the built-in seed network when none is given."""
    return builtin() if spec is None else load(spec)


def split_names(only: str | None) -> list[str] | None:
    """--only "w5, w1" -> ["w5", "w1"]."""
    if not only:
        return None
    return [n.strip() for n in only.split(",") if n.strip()]


def emit(text: str, output: str | None) -> None:
    """Print text, or write it atomically to `output` ('-' is standard output)."""
    if output and output != "-":
        write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))
