"""The conv explanation's HTML at a phone's 390 px and a laptop's 1280 px (Chromium): the page never wider than
the screen, every grid's numbers at least 12 px, and a grid scrolls in its own box only when it is too wide
to fit: a 3x3 kernel at 9 digits fits the phone, a map of 8 columns the laptop (screenshots kept). Tables of
named entries (name, value, gradient, new value) may scroll on a phone."""

from __future__ import annotations

import json

import pytest

from conv_gallery import random_spec
from stepgrad.api import explain_document

FITS = {390: 3, 1280: 8}  # the most columns a grid of 9-digit numbers shows without scrolling at that width


@pytest.mark.browser
@pytest.mark.parametrize("width", list(FITS))
def test_the_page_fits_and_its_grids_are_legible(browser, tmp_path, artifacts, width) -> None:
    spec = tmp_path / "conv9.json"
    spec.write_text(json.dumps(random_spec(9)))  # 4 conv layers of 3 channels, a residual block, 24 units
    page_file = tmp_path / "conv9.html"
    page_file.write_text(explain_document(str(spec), fmt="html"))  # the defaults: 9 digits, every sample
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(page_file.as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 2
        sizes = page.evaluate("[...document.querySelectorAll('table.grid td')].map(e => "
                              "parseFloat(getComputedStyle(e).fontSize))")
        assert sizes and min(sizes) >= 12, min(sizes)
        scrolled = page.evaluate("[...document.querySelectorAll('table.grid')].filter(e => e.scrollWidth > "
                                 "e.clientWidth + 2 && e.rows[0].cells[0].textContent === '')"  # maps, kernels
                                 ".map(e => e.rows[0].cells.length - 1)")
        assert all(columns > FITS[width] for columns in scrolled), sorted(set(scrolled))
        page.screenshot(path=str(artifacts / f"conv-9-{width}.png"), full_page=False)
    finally:
        page.close()
