"""The HTML page in Chromium at desktop and phone width, over the gallery: no horizontal page scroll on a
phone, no formula cut off (a box that scrolls shows it), the before/after comparison last, and a big
trace's page kept small, collapsed and complete (how fast it writes and opens, targets 1 s and 2 s,
is measured by benchmarks/run.py, not asserted here)."""

from __future__ import annotations

import pytest
from tests.gallery import ALL, SMALL, network

import stepgrad
from stepgrad.formats import html

VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}

# elements that hide what does not fit: overflow hidden/clip and more content than room
CLIPPED_JS = """() => [...document.querySelectorAll('.stepgrad *')].filter(e => {
  const s = getComputedStyle(e);
  return (['hidden', 'clip'].includes(s.overflowX) && e.scrollWidth > e.clientWidth + 1) ||
         (['hidden', 'clip'].includes(s.overflowY) && e.scrollHeight > e.clientHeight + 1);
}).map(e => e.tagName + '#' + e.id)"""



@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    paths = {}
    for key in ALL:
        path = folder / f"{key.split()[0]}.html"
        path.write_text(html.render(stepgrad.explain(network(key))), encoding="utf-8")
        paths[key] = path
    return paths


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("key", ALL)
def test_page_fits_the_screen_and_cuts_no_formula(browser, pages, key, viewport):
    width, height = VIEWPORTS[viewport]
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(pages[key].as_uri())
        for details in page.locator("details").all()[:3]:  # big traces: opened sections must fit too
            details.evaluate("d => d.open = true")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate(CLIPPED_JS) == []
        # every formula box that is wider than its room scrolls (overflow auto), and so shows it
        hidden = page.evaluate("""() => [...document.querySelectorAll('.stepgrad .eq')].filter(e =>
            e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'auto').length""")
        assert hidden == 0
        # the diagram's text stays readable on a phone: drawn at its own size (the figure pans)
        size = page.evaluate("""() => { const t = document.querySelector('svg.sg-net text');
            return t ? t.getBoundingClientRect().height : 99; }""")
        assert size >= 9
    finally:
        page.close()


@pytest.mark.parametrize("key", SMALL)
def test_page_ends_with_the_before_after_comparison(key):
    trace = stepgrad.explain(network(key))
    page = html.render(trace)
    sections = page.split("<section")
    last = sections[-1]
    assert 'id="part-compare"' in last and "Before and after" in last
    before, after = trace.lookup("E_total"), trace.lookup("E_total+")
    assert f"{before:.9g}" in last and f"{after:.9g}" in last
    assert ("lowered" in last) == (after < before)


def test_big_trace_page_is_small_collapsed_and_complete(browser, tmp_path):
    trace = stepgrad.explain(network("16-16-10"))
    text = html.render(trace)
    assert "<details" in text and len(text) < 2_000_000
    path = tmp_path / "big.html"
    path.write_text(text, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(path.as_uri(), wait_until="load")
        page.evaluate("new Promise(r => requestAnimationFrame(() => r()))")
        # a collapsed section still holds every step, by name
        assert page.locator("#step-w1").count() == 1
    finally:
        page.close()


@pytest.mark.parametrize("key", ["deck", "8-6-4", "2-3-3-1 relu, per-neuron biases"])
def test_long_formulas_wrap_between_terms_on_a_phone(browser, pages, key):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(pages[key].as_uri())
        scrolling = page.evaluate("""() => [...document.querySelectorAll('.stepgrad .eq')]
            .filter(e => e.scrollWidth > e.clientWidth + 1).length""")
        assert scrolling == 0
        # net_h1 of a wide layer is a sum of many terms: on a phone it takes several lines
        if key == "8-6-4":
            rows = page.locator('[id="step-net_h1"] .eq').all()
            heights = [r.bounding_box()["height"] for r in rows]
            assert max(heights) > 2.5 * min(heights)
    finally:
        page.close()
