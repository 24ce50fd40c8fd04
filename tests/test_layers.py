"""The import contracts (pyproject.toml's [tool.importlinter], run by `make lint`) hold on the tree,
and they bite: a copy of the package with one upward import, one cycle, a layer importing the facade
or a package placed in no layer fails `lint-imports`. The packages' "May import:" lines say the same."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
CONTRACTS = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(src: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """`lint-imports` with the project's contracts, on the stepgrad package under `src`."""
    env = {**os.environ, "PYTHONPATH": str(src)}  # ahead of any installed stepgrad
    return subprocess.run([sys.executable, "-c", LINT, "--no-cache", "--no-logo", str(PYPROJECT)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_the_tree_keeps_every_contract(tmp_path):
    result = lint_imports(ROOT / "src", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    kept = re.findall(r"^(.*) KEPT$", result.stdout, re.M)
    assert sorted(kept) == sorted(c["name"] for c in CONTRACTS)


@pytest.fixture
def copy(tmp_path) -> Path:
    """A copy of src/stepgrad to break, in tmp_path/src."""
    shutil.copytree(ROOT / "src" / "stepgrad", tmp_path / "src" / "stepgrad",
                    ignore=shutil.ignore_patterns("__pycache__", "static"))
    return tmp_path / "src"


UPWARD_IN_A_FUNCTION = '''
def shown(trace):
    from stepgrad.formats.text import rich_renderable  # the kind of import Trace.__rich__ once had

    return rich_renderable(trace)
'''

BREAKS = {
    # name: (files to add, what lint-imports must say)
    "core imports formats": ({"core/_scratch.py": "from stepgrad.formats import render\n"},
                             "stepgrad.core is not allowed to import stepgrad.formats"),
    "core imports formats inside a function": ({"core/_scratch.py": UPWARD_IN_A_FUNCTION},
                                               "stepgrad.core is not allowed to import stepgrad.formats"),
    "tracing imports training (independent layers)": (
        {"tracing/_scratch.py": "from stepgrad.training.loop import train\n"},
        "stepgrad.tracing is not allowed to import stepgrad.training"),
    "a cycle inside core": ({"core/_scratch_a.py": "import stepgrad.core._scratch_b\n",
                             "core/_scratch_b.py": "import stepgrad.core._scratch_a\n"},
                            "No cycles are allowed in stepgrad.core"),
    "a cycle between subpackages of teach": ({"teach/check/_scratch.py": "import stepgrad.teach.quiz\n",
                                              "teach/_scratch.py": "import stepgrad.teach.check.verdicts\n"},
                                             "No cycles are allowed in stepgrad.teach"),
    # the facade imports only layers below the API: the layers contract alone would let this one through
    "the API imports the facade": ({"api/_scratch.py": "def later():\n    import stepgrad\n\n    return stepgrad\n"},
                                   "stepgrad.api._scratch is not allowed to import stepgrad:"),
    "a package in no layer": ({"plugins/__init__.py": '"""A new package nobody placed."""\n'},
                              "The following modules are not listed as layers:\n\n- stepgrad.plugins"),
}


@pytest.mark.parametrize("name", BREAKS)
def test_a_broken_rule_fails_lint_imports(name, copy, tmp_path):
    files, message = BREAKS[name]
    for path, text in files.items():
        (copy / "stepgrad" / path).parent.mkdir(exist_ok=True)
        (copy / "stepgrad" / path).write_text(text)
    result = lint_imports(copy, tmp_path)
    assert result.returncode != 0, result.stdout
    assert message in result.stdout + result.stderr, result.stdout + result.stderr
    assert "BROKEN" in result.stdout


def allowed_imports() -> dict[str, set[str]]:
    """Package -> the packages the layers contract lets it import (every layer below its own)."""
    (layers,) = [c for c in CONTRACTS if c["type"] == "layers"]
    rows = [[f"stepgrad.{p.strip()}" for p in layer.split("|")] for layer in layers["layers"]]
    return {package: {p for lower in rows[i + 1:] for p in lower} for i, row in enumerate(rows) for package in row}


@pytest.mark.parametrize("package", sorted(allowed_imports()))
def test_each_package_docstring_says_what_it_may_import(package):
    init = ROOT / "src" / Path(*package.split(".")) / "__init__.py"
    doc = " ".join((ast.get_docstring(ast.parse(init.read_text())) or "").split())
    line = re.search(r"May import: (.*?)\.(?: |$)", doc)
    assert line, f"{init} has no 'May import:' line"
    said = set() if line.group(1).startswith("nothing") else set(line.group(1).split(", "))
    assert said == allowed_imports()[package]


def test_the_conveniences_plugged_in_from_above_work():
    """What core objects do through a higher layer (stepgrad.core.hooks) still works: every hook is
    plugged in, and each gives what the layer that implements it gives."""
    import io

    from rich.console import Console

    import stepgrad
    from stepgrad.core import hooks
    from stepgrad.formats.html import body, history_html
    from stepgrad.formats.matrix_writers import fragment
    from stepgrad.pictures.diagram import network_svg
    from stepgrad.tracing.matrix import matrix_view

    net = stepgrad.builtin()
    trace = net.explain()
    assert trace.values["dE_total/dw5"] == pytest.approx(0.082167041, abs=1e-9)  # the seed deck's figure
    assert trace.values == stepgrad.explain(net).values
    console = Console(file=io.StringIO(), width=110)
    console.print(trace)  # Trace.__rich__
    assert "dE_total/dw5 = dE_total/dout_o1 * dout_o1/dnet_o1 * dnet_o1/dw5" in console.file.getvalue()
    assert trace._repr_html_() == body(trace)
    assert trace._repr_markdown_() == stepgrad.render(trace, "markdown")
    assert net._repr_svg_() == network_svg(net)
    view = matrix_view(trace)
    assert view._repr_html_() == fragment(view)
    history = net.train(10_000, update_order="sequential")
    assert history._repr_html_() == history_html(history)
    assert history.network_outputs()[0][0] == pytest.approx(0.015912196, abs=1e-9)  # the deck's output after 10,000
    with pytest.raises(KeyError, match="no hook named 'trace.latex'"):
        hooks.plug("trace.latex", str)
