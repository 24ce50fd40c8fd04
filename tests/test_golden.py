"""Golden files: the seed deck in every format, compared byte for byte with tests/__snapshots__/test_golden/.

Each output is one reviewable file (`.txt`, `.md`, `.tex`, `.json`, `.html`), so a format change shows
up as a diff in review. The other format tests check that every value is right; these check that
nothing else moved (layout, wording, markup). After a reviewed, intended change:

    make golden        # = pytest tests/test_golden.py --snapshot-update

and commit the changed files with the change that caused them. The outputs hold no dates, paths or
timings; the terminal width is fixed (text at 100 and 80 columns, the main job at 100).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

import stepgrad
from stepgrad.cli import main
from stepgrad.formats import FORMATS, render


class GoldenText(SingleFileSnapshotExtension):
    """One UTF-8 text file per snapshot."""

    _write_mode = WriteMode.TEXT
    file_extension = "txt"


# one extension class per file suffix, so each golden file opens in the right viewer
SUFFIX = {"text": "txt", "json": "json", "markdown": "md", "latex": "tex", "slides": "tex", "html": "html"}
GOLDEN = {suffix: type(f"Golden_{suffix}", (GoldenText,), {"file_extension": suffix}) for suffix in set(SUFFIX.values())}


def test_every_format_has_a_golden_file():
    assert set(SUFFIX) == set(FORMATS)


@pytest.mark.parametrize("width", [100, 80])
def test_text(snapshot, width):
    trace = stepgrad.explain(stepgrad.builtin())
    assert render(trace, "text", width=width) == snapshot(extension_class=GOLDEN["txt"])


@pytest.mark.parametrize("fmt", [f for f in SUFFIX if f != "text"])
def test_explain_format(snapshot, capsys, fmt):
    """What `stepgrad explain --format FMT` prints (slides with the 10,000-iteration closing table)."""
    main(["explain", "--format", fmt])
    assert capsys.readouterr().out == snapshot(extension_class=GOLDEN[SUFFIX[fmt]])


@pytest.mark.slow
def test_main_job(snapshot):
    """`stepgrad` alone, as a terminal 100 columns wide shows it (no colour: output is not a terminal)."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
    env.update(COLUMNS="100", LINES="50", NO_COLOR="1")
    result = subprocess.run([sys.executable, "-m", "stepgrad"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == snapshot(extension_class=GOLDEN["txt"])
