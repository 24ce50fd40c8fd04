"""The sequence gallery's LaTeX articles compile under pdflatex without an overfull line, and its HTML pages fit
a 390 px phone: nothing wider than the screen (grids of time steps and attention matrices scroll in their own box)."""

from __future__ import annotations

import pytest

from conftest import CHROMIUM_ARGS, require_tool  # noqa: F401
from layer_helpers import assert_compiles_without_overfull_lines, assert_fits_a_phone, write_spec
from seq_trace_gallery import GALLERY
from stepgrad.api import Display, Extras, explain_document

KEYS = list(GALLERY)


def _spec(tmp_path, key: str) -> str:
    return write_spec(tmp_path, key, GALLERY[key])


@pytest.mark.latex
@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("full,view", [(False, "steps"), (True, "steps"), (False, "matrix")])
def test_latex_compiles_without_overfull_lines(tmp_path, key: str, full: bool, view: str) -> None:
    source = explain_document(_spec(tmp_path, key), fmt="latex", display=Display(digits=6),
                              extras=Extras(full=full, view=view))
    assert_compiles_without_overfull_lines(tmp_path, source, "seq")


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
                assert_fits_a_phone(page, path, f"{key} ({view})")
    finally:
        page.close()
