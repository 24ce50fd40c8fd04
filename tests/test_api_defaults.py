"""One API behind the command line: each command calls one documented function of `stepgrad.api`, every option's
default is that function's (declared once), the records check what they are given, every display option
works in every view, and a Network checks itself when built directly."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re

import click
import numpy as np
import pytest

import stepgrad
import stepgrad.api as api
from stepgrad import Network, SpecError
from stepgrad.cli import COMMANDS, cli
from stepgrad.core.errors import StepgradError

# options a command has that its API function does not, and why
CLI_ONLY = {
    ("diagram", "after_update"): "an alias of --show updated",
    ("train", "output"): "the command writes the returned report to this file",
    ("check", "output"): "the command writes the returned report to this file",
    ("audit", "output"): "the command writes the returned page to this file",
    ("import", "output"): "the command writes the returned spec there; its suffix picks fmt",
}


def command_of(name: str) -> click.Command:
    command = cli.get_command(None, name)  # type: ignore[arg-type]
    assert command is not None, name
    return command


def api_function(name: str):
    """The API function a command wraps: the module's API (named in its docstring as well)."""
    module = importlib.import_module(f"stepgrad.cli.{COMMANDS[name]}")
    return module.API


def reference_default(function, name: str):
    """The default of `name` read independently of the CLI's helper: a parameter, or a field of a record default."""
    signature = inspect.signature(function)
    if name in signature.parameters:
        return signature.parameters[name].default
    found = [getattr(p.default, name) for p in signature.parameters.values()
             if dataclasses.is_dataclass(p.default) and name in {f.name for f in dataclasses.fields(p.default)}]
    assert len(found) == 1, f"{function.__name__}: {name!r} is in {len(found)} records"
    return found[0]


def options_of(name: str) -> list[click.Option]:
    return [p for p in command_of(name).params if isinstance(p, click.Option) and p.name not in ("help",)]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_wraps_a_public_documented_api_function(name):
    function = api_function(name)
    assert function.__name__ in api.__all__ and getattr(api, function.__name__) is function
    assert not function.__name__.endswith("_job")
    doc = inspect.getdoc(function) or ""
    assert doc and doc.split("\n")[0].endswith("."), function.__name__
    assert "Example" in doc or ">>>" in doc, function.__name__
    source = inspect.getsource(importlib.import_module(f"stepgrad.cli.{COMMANDS[name]}").command.callback)
    assert source.count(f"{function.__name__}(") == 1, f"{name}: one call to {function.__name__}"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_option_default_is_the_api_default(name):
    function = api_function(name)
    checked = 0
    for option in options_of(name):
        if (name, option.name) in CLI_ONLY:
            continue
        expected = reference_default(function, option.name)
        if option.multiple:
            assert tuple(option.default or ()) == tuple(expected), (name, option.name)
        else:
            assert option.default == expected, f"stepgrad {name} {option.opts[0]}: {option.default!r} != {expected!r}"
        checked += 1
    assert checked, name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_no_api_function_takes_more_than_eight_parameters(name):
    assert len(inspect.signature(api_function(name)).parameters) <= 8, name


def test_the_drift_that_was_fixed_stays_fixed():
    """--train-iterations was 10000 on the command line and 0 in the library."""
    option = next(o for o in options_of("explain") if o.name == "train_iterations")
    assert option.default == api.Extras().train_iterations == 10_000


def test_api_names_hide_no_module_and_shadow_no_top_level_function():
    for name in api.__all__:
        assert name not in ("explain", "train", "render"), name
        assert importlib.util.find_spec(f"stepgrad.api.{name}") is None, f"stepgrad.api.{name} hides a module"
        assert not hasattr(stepgrad, name) or getattr(stepgrad, name) is getattr(api, name), name


def _decimals_of(text: str, name: str) -> str:
    """The value shown beside `name` in a matrix view's text."""
    found = re.search(rf"\[ {name} \](?: =)?\s+\[\s*(\S+) \]", text)
    assert found, text
    return found.group(1)


def test_matrix_view_honours_decimals(cli):
    """`stepgrad explain --view matrix --decimals 3` showed 0.593269992; the deck's out_h1 is 0.593269992..."""
    result = cli("explain", "--view", "matrix", "--decimals", "3")
    assert result.returncode == 0, result.stderr
    out_h1 = _decimals_of(result.stdout, "out_h1")
    assert out_h1 == "0.593", result.stdout  # 1 / (1 + exp(-0.3775)) = 0.5932699921...
    assert 1 / (1 + np.exp(-0.3775)) == pytest.approx(float(out_h1), abs=5e-4)
    digits = cli("explain", "--view", "matrix", "--digits", "4")
    assert _decimals_of(digits.stdout, "out_h1") == "0.5933"


@pytest.mark.parametrize("fmt", ["markdown", "latex", "html"])
def test_matrix_view_honours_decimals_in_every_format(fmt):
    text = api.explain_document(fmt=fmt, display=api.Display(decimals=3), extras=api.Extras(view="matrix"))
    assert "0.593" in text and "0.59327" not in text, fmt


@pytest.mark.parametrize("args", [("explain", "--view", "matrix"), ("explain", "--only", "out_h1"), ("names",),
                                  ("graph",)])
def test_every_command_with_decimals_honours_them(cli, args):
    """out_h1 = 1 / (1 + exp(-0.3775)) = 0.59326999...: shown as 0.593 wherever --decimals 3 is given."""
    result = cli(*args, "--decimals", "3")
    assert result.returncode == 0, result.stderr
    assert "0.593" in result.stdout and "0.5932" not in result.stdout, args


def test_check_shows_the_expected_value_at_the_decimals_asked(cli, tmp_path):
    (tmp_path / "answers.txt").write_text("out_h1 = 0.7031\n")
    result = cli("check", "answers.txt", "--decimals", "3", "-o", "report.txt", cwd=tmp_path)
    report = (tmp_path / "report.txt").read_text()
    # the expected column at 3 decimals (the diagnosis in the note quotes the exact value on purpose)
    assert result.returncode == 1 and re.search(r"│ wrong\s+│ 0\.593\s+│", report), report


def test_steps_view_and_names_honour_decimals():
    text = api.explain_document(display=api.Display(decimals=3), extras=api.Extras(only="out_h1"))
    assert "0.593" in text and "0.5932" not in text
    names = api.quantity_names(display=api.Display(decimals=3))
    assert re.search(r"^out_h1\s+= 0\.593$", names, re.M), names


@pytest.mark.parametrize("record, field, value", [
    (api.Display, "digits", 0), (api.Display, "decimals", 16), (api.StepOptions, "optimizer", "newton"),
    (api.StepOptions, "sample", 0), (api.Extras, "view", "tensor"), (api.Extras, "train_iterations", -1),
    (api.TrainOptions, "update_order", "random"), (api.TrainOptions, "seed", -1), (api.DataSet, "test_fraction", 1),
    (api.Marking, "order", "alphabetical"), (api.Problem, "samples", 5), (api.Problem, "activation", "softmax"),
    (api.ImportOptions, "shared_biases", "maybe"), (api.RunFiles, "save", 3),
])
def test_records_refuse_a_bad_value_naming_the_field(record, field, value):
    with pytest.raises(StepgradError, match=rf"^{record.__name__}\.{field}: "):
        record(**{field: value})


def test_records_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        api.Display().digits = 3  # type: ignore[misc]


def test_network_without_weights_names_the_field():
    with pytest.raises(SpecError, match=r"^Network\.weights: expected 2 matrices"):
        Network(layers=[2, 2, 2], activations=["sigmoid", "sigmoid"])


@pytest.mark.parametrize("change, field", [
    ({"weights": [np.zeros((2, 3)), np.zeros((2, 2))]}, r"weights\[0\]"),
    ({"biases": [np.zeros(2)]}, "biases"),
    ({"activations": ["sigmoid", "sigmoud"]}, r"activations\[1\]"),
    ({"activations": ["softmax", "sigmoid"]}, r"activations\[0\]"),
    ({"loss": "hinge"}, "loss"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"inputs": np.zeros((1, 2)), "targets": None}, "targets"),
    ({"inputs": np.zeros((1, 3)), "targets": np.zeros((1, 2))}, "inputs"),
    ({"layers": [2]}, "layers"),
])
def test_network_built_directly_refuses_what_from_dict_refuses(change, field):
    fields = dict(layers=[2, 2, 2], activations=["sigmoid", "sigmoid"], weights=[np.ones((2, 2))] * 2,
                  biases=[np.array([0.35]), np.array([0.6])])
    with pytest.raises(SpecError, match=rf"^Network\.{field}: "):
        Network(**{**fields, **change})


def test_network_built_directly_computes_what_the_spec_computes():
    """The same network built in Python and read from the deck's spec: the same step (the deck's w5+)."""
    net = Network(layers=[2, 2, 2], activations=["sigmoid", "sigmoid"],
                  weights=[[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]], biases=[[0.35], [0.60]],
                  inputs=[[0.05, 0.10]], targets=[[0.01, 0.99]])
    assert net.shared_biases == [True, True] and net.weights[0].dtype == np.float64
    assert stepgrad.explain(net).values["w5+"] == pytest.approx(0.35891648, abs=5e-9)  # the deck prints 0.35891648


def test_from_dict_errors_still_name_file_and_key():
    with pytest.raises(SpecError, match=r"^net\.toml: weights: expected 2 matrices"):
        Network.from_dict({"layers": [2, 2, 2], "weights": []}, "net.toml")
