"""The `stepgrad` command: a click group whose subcommands live one per module in
`stepgrad.cli` and are imported only when used (start-up stays fast).

May import: stepgrad.api, stepgrad.web, stepgrad.teach, stepgrad.interop, stepgrad.formats, stepgrad.pictures,
stepgrad.tracing, stepgrad.training, stepgrad.core.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys

import click

from stepgrad.core.errors import StepgradError
from stepgrad.formats.escape import terminal

# command name -> module in stepgrad.cli (a module may be absent until its feature lands)
COMMANDS = {
    "explain": "explain",
    "train": "train",
    "names": "names",
    "check": "check",
    "exercise": "exercise",
    "diagram": "diagram",
    "serve": "serve",
    "site": "site",
    "export": "export",
    "import": "import_",
    "graph": "graph",
    "quiz": "quiz",
    "audit": "audit",
    "course-pack": "course_pack",
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
    reserve: bytearray | None = bytearray(4 << 20)  # given back on MemoryError, so the error line can be written
    for stream in ("stdin", "stdout", "stderr"):  # a closed stream reads as empty and writes nowhere
        if getattr(sys, stream) is None:
            setattr(sys, stream, open(os.devnull, "r" if stream == "stdin" else "w", encoding="utf-8"))  # noqa: SIM115 (lives as long as the process)
    try:
        cli.main(args=argv, prog_name="stepgrad", standalone_mode=False)
        sys.stdout.flush()  # a full disk or a closed pipe is found here, not at exit
    except StepgradError as exc:
        made = getattr(exc, "output", "")  # what the command made before it failed (train --strict's report)
        if made:
            click.echo(made, nl=not made.endswith("\n"))
        click.echo(f"stepgrad: error: {terminal(str(exc))}", err=True)  # a file name or key is text, never an escape
        sys.exit(exc.exit_code)
    except MemoryError:
        reserve = None  # noqa: F841 (freed: the memory the lines below need)
        _silence_stdout()
        click.echo("stepgrad: error: out of memory: the work asked for is larger than this machine's memory", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("stepgrad: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(0)
    except OSError as exc:  # standard output on a full disk, or a device that refuses writes
        _silence_stdout()
        click.echo(f"stepgrad: error: cannot write the output: {exc.strerror or exc}", err=True)
        sys.exit(2)


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so Python's flush at exit does not fail a second time."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
