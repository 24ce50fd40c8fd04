"""The faded conv and attention sheets as HTML (`exercise --layers ... --fade K --format html`) in Chromium at 390 px:
nothing wider than the phone's screen (wide grids and blank tables scroll in their own box). Screenshots go to the
test artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from stepgrad.api import Problem, make_exercise

pytestmark = pytest.mark.browser
OVERFLOW_JS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.mark.parametrize("kind", ["conv", "attention"])
def test_the_faded_html_sheet_fits_a_phone(browser, kind: str, tmp_path: Path, artifacts: Path) -> None:
    make_exercise(Problem(layers=kind, seed=2, fade=3, shape="channels" if kind == "conv" else "basic"),
                  fmt="html", output=str(tmp_path))
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        for sheet in ("1-worked/worked.html", "2-faded/faded.html", "3-problem/sheet.html"):
            page.goto((tmp_path / sheet).as_uri())
            assert page.evaluate(OVERFLOW_JS) <= 0, sheet
        page.goto((tmp_path / "2-faded" / "faded.html").as_uri())
        assert page.get_by_text("(yours)").count() >= 1
        page.get_by_text("Backward pass").last.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"faded-{kind}-phone.png"))
    finally:
        page.close()
