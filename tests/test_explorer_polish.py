"""The explorer at desktop and phone size, in Chromium: arrow keys step through the stages, Tab reaches
every edge, one number format (the digits control's, written as the CLI writes it), "The network" once,
the grouping and derive controls, a tap on a phone brings the derivation into view, no text collision
in any stage's diagram, and focus mode on a big network."""

from __future__ import annotations

import pytest
from tests.browser_helpers import expect, open_page, redrawn, settle, typeset  # noqa: F401 (settle: for the other explorer tests)
from tests.gallery import network
from tests.test_pictures_layout import COLLISIONS_JS
from tests.test_web_server import running_server

import stepgrad

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def _explorer_needs(browser):
    """The explorer tests also need the web extra."""
    pytest.importorskip("uvicorn")


@pytest.fixture(scope="module")
def server():
    with running_server() as url:
        yield url


def test_arrow_keys_step_through_the_stages(browser, server):
    page = open_page(browser, server)
    try:
        current = page.locator('#stages [aria-current="step"]')
        buttons = page.locator("#stages button")
        first, second, third = (buttons.nth(k).inner_text() for k in range(3))
        expect(current).to_have_text(first)
        page.locator("body").press("ArrowRight")
        expect(current).to_have_text(second)
        page.locator("body").press("ArrowRight")
        expect(current).to_have_text(third)
        page.locator("body").press("ArrowLeft")
        expect(current).to_have_text(second)
        # inside a field the arrows keep their own meaning: one arrow on the page after it goes on from the second
        page.focus("#train-n")
        page.keyboard.press("ArrowLeft")
        page.evaluate("document.activeElement.blur()")
        page.locator("body").press("ArrowRight")
        expect(current).to_have_text(third)
    finally:
        page.close()


def test_tab_reaches_every_edge(browser, server):
    page = open_page(browser, server)
    try:
        edges = set(page.eval_on_selector_all("#diagram line[data-name]", "ls => ls.map(l => l.dataset.name)"))
        assert edges == {f"w{k}" for k in range(1, 9)}
        page.focus("#load-builtin")
        reached = set()
        for _ in range(120):
            page.keyboard.press("Tab")
            name = page.evaluate("document.activeElement && document.activeElement.getAttribute('data-name')")
            if name:
                reached.add(name)
        assert edges <= reached
    finally:
        page.close()


def test_one_number_format_follows_the_digits_control(browser, server):
    trace = stepgrad.explain(stepgrad.builtin())
    after = trace.lookup("E_total+")
    page = open_page(browser, server)
    try:
        for digits in ("6", "9", "4"):
            with redrawn(page):
                page.select_option("#digits", digits)
            # the CLI's own format (Python's "g"), computed here from the trace
            expect(page.locator("#compare")).to_contain_text(f"synchronous {after:.{digits}g}")
            expect(page.locator("#diagram .error-node")).to_have_text(f"E_total = {trace.lookup('E_total'):.{digits}g}")
        formatted = page.evaluate("""async () => { const m = await import('/static/curve.js');
            return [m.formatNumber(3.51018778e-05, 9), m.formatNumber(0.000438567734, 6), m.formatNumber(-1234567.0, 4),
                    m.formatNumber(0.1, 9), m.formatNumber(1e21, 3)]; }""")
        assert formatted == [f"{3.51018778e-05:.9g}", f"{0.000438567734:.6g}", f"{-1234567.0:.4g}", "0.1", f"{1e21:.3g}"]
    finally:
        page.close()


def test_the_network_heading_once_and_grouping_controls(browser, server):
    page = open_page(browser, server)
    try:
        headings = page.eval_on_selector_all("h1, h2, h3", "hs => hs.filter(h => h.offsetParent).map(h => h.textContent)")
        assert headings.count("The network") == 1, headings
        stages = page.locator("#stages .stage")
        expect(stages.filter(has_text="Backward pass: output layer")).to_have_count(1)
        page.select_option("#group", "weight")
        expect(stages.filter(has_text="The w5 change")).to_have_count(1)  # the deck's telling: one weight at a time
        expect(stages.filter(has_text="Backward pass: output layer")).to_have_count(0)
        with redrawn(page):
            page.locator("#stages .stage", has_text="The w5 change").click()
        expect(page.locator("#derivation-title")).to_have_text("The w5 change")
        derived = page.locator("#derivation .eq.derived")
        expect(derived).to_have_count(0)
        page.check("#derive")
        # the deck derives dE_total/dout_o1 by the power and chain rules: rows with their rule appear
        expect(page.locator("#derivation .eq .rule").first).to_contain_text("power rule")
        assert derived.count() >= 1
    finally:
        page.close()


@pytest.mark.parametrize("size", [(1280, 900), (390, 844)])
def test_no_collision_in_any_stage(browser, server, size):
    page = open_page(browser, server, *size)
    try:
        seen = set()
        count = page.locator("#stages button").count()
        for k in range(count):
            with redrawn(page):
                page.locator("#stages button").nth(k).click()
            expect(page.locator("#stages button").nth(k)).to_have_attribute("aria-current", "step")
            shown = page.evaluate("document.querySelector('#diagram svg title').textContent.split(': ').pop()")
            if shown not in seen:
                seen.add(shown)
                result = page.evaluate(COLLISIONS_JS)
                assert result["bad"] == [], (shown, result["bad"][:5])
        assert seen == {"weights", "gradients", "updated"}
        if size[0] < 600:
            assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
    finally:
        page.close()


def test_phone_tap_on_an_edge_scrolls_its_derivation_into_view(browser, server):
    page = open_page(browser, server, 390, 844, touch=True)
    try:
        with redrawn(page):
            page.locator("#diagram #label-w5").tap()
        expect(page.locator("#derivation-title")).to_contain_text("w5")
        page.wait_for_function("""() => { const r = document.querySelector('#derivation-title').getBoundingClientRect();
                                          return r.top >= -1 && r.top < innerHeight / 2; }""")
    finally:
        page.close()


def test_focus_mode_fades_all_but_the_selection_on_a_big_network(browser):
    with running_server(network("16-16-10")) as url:
        page = open_page(browser, url)
        try:
            assert page.locator("#diagram svg.sg-big").count() == 1
            with redrawn(page):
                page.locator("#diagram #neuron-h3").click()
            page.wait_for_selector("#diagram svg.focus")
            faded = page.evaluate("""() => { const all = [...document.querySelectorAll('#diagram line[data-name]')];
                return [all.length, all.filter(l => getComputedStyle(l).opacity < 0.5).length]; }""")
            # h3's 16 incoming and 10 outgoing edges stay, every other edge fades
            assert faded == [16 * 16 + 16 * 10, 16 * 16 + 16 * 10 - 26]
        finally:
            page.close()


@pytest.mark.parametrize("size", [(1400, 1000), (390, 844)])
def test_a_hidden_weights_paths_wrap_instead_of_being_cut(browser, size):
    with running_server(network("8-6-4")) as url:
        page = open_page(browser, url, *size)
        try:
            with redrawn(page):
                page.locator("#diagram #edge-w1").dispatch_event("click")
            expect(page.locator("#derivation .paths .eq")).to_have_count(4)  # w1 reaches the 4 outputs
            cut = page.evaluate("""() => [...document.querySelectorAll('#derivation .eq')]
                .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.dataset.latex)""")
            assert cut == []
            assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
        finally:
            page.close()
