"""Every command is thin: options, a docstring with an example (its --help), and a call into the library.

The commands' choices come from the registries, so a new activation, loss, optimizer or format is
offered the moment its entry exists.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import click
import pytest

from stepgrad.cli import COMMANDS, cli
from stepgrad.core.functions import ACTIVATIONS, LOSSES
from stepgrad.core.optim import OPTIMIZERS
from stepgrad.core.spec import UPDATE_ORDERS
from stepgrad.formats import FORMATS

COMMAND_DIR = Path(importlib.import_module("stepgrad.cli").__file__).parent
MAX_BODY_LINES = 15  # statements after the docstring: a few lines calling the library
MAX_MODULE_LINES = 110  # options and docstring included (explain has 25 options)


def command_modules() -> list[str]:
    return [module for module in COMMANDS.values() if (COMMAND_DIR / f"{module}.py").exists()]


@pytest.mark.parametrize("module", command_modules())
def test_command_has_a_docstring_with_an_example(module):
    command = importlib.import_module(f"stepgrad.cli.{module}").command
    doc = inspect.getdoc(command.callback) or ""
    assert doc.split("\n\n")[0].rstrip().endswith("."), (module, doc[:80])  # a one-paragraph summary
    assert "Example" in doc and "stepgrad " in doc.split("Example", 1)[1], module


@pytest.mark.parametrize("module", command_modules())
def test_command_is_options_and_a_library_call(module):
    path = COMMAND_DIR / f"{module}.py"
    source = path.read_text()
    assert len(source.splitlines()) <= MAX_MODULE_LINES, f"{path.name} holds logic: move it to the library"
    tree = ast.parse(source)
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert [f.name for f in functions] == ["command"], f"{path.name}: helpers belong in the library"
    body = functions[0].body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    lines = body[-1].end_lineno - body[0].lineno + 1
    assert lines <= MAX_BODY_LINES, f"{path.name}: command body is {lines} lines"
    for node in ast.walk(functions[0]):
        assert not isinstance(node, (ast.For, ast.While, ast.Try, ast.With)), f"{path.name}: loops/try in a command"


def test_no_command_imports_another_commands_private_helper():
    for path in COMMAND_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module not in (None, "_common"):
                raise AssertionError(f"{path.name} imports from commands.{node.module}")


def _choices(command_name: str, option: str) -> list[str]:
    command = cli.get_command(None, command_name)  # type: ignore[arg-type]
    param = next(p for p in command.params if p.name == option)
    assert isinstance(param.type, click.Choice), (command_name, option)
    return list(param.type.choices)


def test_choices_come_from_the_registries():
    assert _choices("explain", "fmt") == list(FORMATS)
    assert _choices("explain", "optimizer") == list(OPTIMIZERS)
    assert _choices("train", "optimizer") == list(OPTIMIZERS)
    assert _choices("explain", "update_order") == list(UPDATE_ORDERS)
    assert _choices("train", "update_order") == [*UPDATE_ORDERS, "both"]
    assert _choices("import", "loss") == list(LOSSES)
    hidden_ok = [name for name, entry in ACTIVATIONS.items() if entry.hidden_ok]
    assert set(_choices("exercise", "activation")) <= set(hidden_ok)
