"""One module owns the saved-file schema: spec.py reads and checks every key (the `[training]` table as a
typed TrainingState); persist.py only writes it. Files written as format_version 1 still load."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import stepgrad
from stepgrad.core.errors import SpecError
from stepgrad.core.spec import TrainingState, loads

SRC = Path(importlib.import_module("stepgrad").__file__).parent

# A file as stepgrad wrote it with format_version 1 (an Adam run of 2 steps on a 1-1 network).
SAVED_V1 = """\
format_version = 1
layers = [1, 1]
activation = "sigmoid"
loss = "half_squared_error"
learning_rate = 0.5
update_biases = false
update_order = "synchronous"
weights = [[[0.3]]]
biases = [0.1]
samples = [{inputs = [0.5], targets = [0.9]}]

[training]
iterations = 2
update_order = "synchronous"

[training.optimizer]
name = "adam"
t = 2
hyper = {beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8}
slots = {m = [[[0.01]], [0.0]], s = [[[0.0001]], [0.0]]}

[history]
iteration = [0, 1]
E_total = [0.03, 0.029]
"""


def _top_level_imports(module: str) -> set[str]:
    tree = ast.parse((SRC / "core" / f"{module}.py").read_text())
    modules = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stepgrad"):
            if node.module == "stepgrad.core":  # from stepgrad.core import hooks
                modules |= {alias.name for alias in node.names}
            else:
                modules.add((node.module or "").removeprefix("stepgrad.core."))
    return modules


def test_spec_owns_the_schema_and_imports_nothing_above_it():
    # hooks: net.explain() and the like, plugged in from above (the layers contract in pyproject.toml)
    assert _top_level_imports("spec") <= {"errors", "functions", "training_state", "hooks"}
    source = (SRC / "core" / "spec.py").read_text()
    assert "persist" not in source.replace("persist.py", "")  # persist imports spec, never the other way
    assert not hasattr(stepgrad.core.persist, "check_saved_state")


def test_a_version_1_file_loads_with_a_typed_training_state_and_saves_the_same():
    net = loads(SAVED_V1)
    assert net.training == TrainingState(iterations=2, update_order="synchronous", optimizer={
        "name": "adam", "t": 2, "hyper": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
        "slots": {"m": [[[0.01]], [0.0]], "s": [[[0.0001]], [0.0]]}})
    assert "training" not in net.extra
    again = loads(stepgrad.core.persist.dumps(net))
    assert again.training == net.training and again.extra["history"] == net.extra["history"]
    resumed = stepgrad.train(net, 1, optimizer="adam").network
    assert resumed.training.iterations == 3 and resumed.training.optimizer["t"] == 3


@pytest.mark.parametrize(("table", "where"), [
    ("iterations = -1", "training.iterations"),
    ("epochs = 1.5", "training.epochs"),
    ('update_order = "random"', "training.update_order"),
    ("iteration = 3", "training.iteration"),
    ("optimizer = 3", "training.optimizer"),
])
def test_a_bad_training_table_is_one_line_naming_the_key(table, where):
    text = SAVED_V1.split("[training]")[0] + f"[training]\n{table}\n"
    with pytest.raises(SpecError) as error:
        loads(text, source="net.toml")
    assert str(error.value).startswith(f"net.toml: {where}:"), str(error.value)


def test_training_is_read_and_written_through_one_api():
    for path in SRC.rglob("*.py"):
        assert 'extra["training"]' not in path.read_text() and "extra.get(\"training\"" not in path.read_text(), path
