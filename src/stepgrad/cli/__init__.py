"""The `stepgrad` command: a click group whose subcommands live one per module in
`stepgrad.cli` and are imported only when used (start-up stays fast)."""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from stepgrad.core.errors import StepgradError

# command name -> module in stepgrad.cli (a module may be absent until its feature lands)
COMMANDS = {
    "explain": "explain",
    "train": "train",
    "names": "names",
    "check": "check",
    "exercise": "exercise",
    "diagram": "diagram",
    "serve": "serve",
    "export": "export",
    "import": "import_",
    "graph": "graph",
    "quiz": "quiz",
}


class LazyGroup(click.Group):
    """Finds each subcommand's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, module in COMMANDS.items()
                if importlib.util.find_spec(f"stepgrad.cli.{module}") is not None]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS or name not in self.list_commands(ctx):
            return None
        return importlib.import_module(f"stepgrad.cli.{COMMANDS[name]}").command


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stepgrad")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Backpropagation, step by step: every number of a training step, derived and checked.

    Run alone, it reproduces the seed deck "Step by step Backpropagation": the forward pass, the
    error, every weight's chain rule with the numbers, the new weights, and 10,000 iterations.

    \b
    Examples:
      stepgrad                                  # the whole deck
      stepgrad explain --only w5,w1             # just those derivations
      stepgrad explain my-net.toml --format json
      stepgrad train --iterations 10000 --update-order sequential
    """
    if ctx.invoked_subcommand is None:
        from stepgrad.api import show_deck

        show_deck()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one line on stderr and exit status 2."""
    try:
        cli.main(args=argv, prog_name="stepgrad", standalone_mode=False)
    except StepgradError as exc:
        click.echo(f"stepgrad: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("stepgrad: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
