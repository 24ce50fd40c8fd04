"""The sequence gallery's LaTeX articles compile under pdflatex without an overfull line, and its HTML pages fit
a 390 px phone: nothing wider than the screen (grids of time steps and attention matrices scroll in their own box)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from conftest import CHROMIUM_ARGS, require_tool  # noqa: F401
from seq_trace_gallery import GALLERY
from stepgrad.api import Display, Extras, explain_document

KEYS = list(GALLERY)


def _spec(tmp_path, key: str) -> str:
    path = tmp_path / f"{key}.json"
    path.write_text(json.dumps(GALLERY[key]))
    return str(path)


@pytest.mark.latex
@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("full,view", [(False, "steps"), (True, "steps"), (False, "matrix")])
def test_latex_compiles_without_overfull_lines(tmp_path, key: str, full: bool, view: str) -> None:
    pdflatex = require_tool("pdflatex")
    source = explain_document(_spec(tmp_path, key), fmt="latex", display=Display(digits=6),
                              extras=Extras(full=full, view=view))
    (tmp_path / "seq.tex").write_text(source)
    result = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "seq.tex"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    log = (tmp_path / "seq.log").read_text(errors="replace")
    assert result.returncode == 0, log[-2000:]
    assert not re.search(r"Overfull \\hbox \((\d{2,}|[3-9])\.", log), re.findall(r"Overfull.*", log)[:3]


@pytest.mark.browser
def test_html_fits_a_phone(browser, tmp_path) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        for key in KEYS:
            for view in ("steps", "matrix"):
                html = explain_document(_spec(tmp_path, key), fmt="html", display=Display(digits=9),
                                        extras=Extras(view=view))
                path = tmp_path / f"{key}-{view}.html"
                path.write_text(html)
                page.goto(path.as_uri())
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 392, f"{key} ({view}): the page is {width}px wide on a 390px screen"
                assert page.locator("table.grid").count() > 0
    finally:
        page.close()
