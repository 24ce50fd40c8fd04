"""The LaTeX article of conv networks compiles under pdflatex without an overfull line, and the HTML page
fits a 390 px phone: nothing wider than the screen (grids and formulas scroll or wrap in their own box)."""

from __future__ import annotations

import pytest

from conftest import CHROMIUM_ARGS, require_tool  # noqa: F401
from conv_gallery import STRIDED, random_spec
from layer_helpers import assert_compiles_without_overfull_lines, assert_fits_a_phone, write_spec
from stepgrad.api import Display, StepOptions, explain_document

SEEDS = [0, 3, 9, "wide", "strided"]
WIDE = {"layers": [{"type": "input", "shape": [1, 2, 30]}, {"type": "conv2d", "out_channels": 1, "kernel": 1},
                   {"type": "flatten"}, {"type": "dense", "neurons": 2}], "seed": 1,
        "samples": [{"inputs": [[0.5] * 30, [-0.25] * 30], "targets": [0.1, 0.9]}]}  # 30-column grids


def _spec(tmp_path, seed) -> str:
    spec = {"wide": WIDE, "strided": STRIDED}.get(seed) if isinstance(seed, str) else random_spec(seed)
    return write_spec(tmp_path, f"net{seed}", spec)


@pytest.mark.latex
@pytest.mark.parametrize("seed", SEEDS)
def test_latex_compiles_without_overfull_lines(tmp_path, seed: int) -> None:
    source = explain_document(_spec(tmp_path, seed), fmt="latex", display=Display(digits=4), step=StepOptions(sample=1))
    assert_compiles_without_overfull_lines(tmp_path, source, "conv")


@pytest.mark.browser
def test_html_fits_a_phone(browser, tmp_path, artifacts) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        for seed in SEEDS:
            html = explain_document(_spec(tmp_path, seed), fmt="html", display=Display(digits=4),
                                    step=StepOptions(sample=1))
            path = tmp_path / f"conv{seed}.html"
            path.write_text(html)
            assert_fits_a_phone(page, path, f"conv {seed}")
            # a formula wraps between its terms (a max-pool's max(...) between its arguments), never scrolls
            scrolled = page.evaluate("[...document.querySelectorAll('.eq')].filter(e => e.scrollWidth > "
                                     "e.clientWidth + 2).map(e => e.textContent.slice(0, 60))")
            assert not scrolled, scrolled
            # a grid's title sits above its table, never squeezed into the table's width
            assert page.evaluate("[...document.querySelectorAll('table.grid caption')].length") == 0
            page.screenshot(path=str(artifacts / f"conv-{seed}-390.png"), full_page=True)
    finally:
        page.close()
