"""The maps and sequence pages on networks of the size a course shows (tests/big_layer_nets.py: a 2x16x16 conv
network with a residual block and 10 outputs, an rnn over 12 steps with 8 hidden units, an attention head over 8
tokens with d = 8, batchnorm over 8 samples), in Chromium at 1280 and 390 px: each page is drawn in well under the
time a click may take, never wider than the screen, and a step answers quickly. On the conv page a kernel weight of
the second conv layer marks the positions cross-correlation puts under it (its touches found on the page from the
kernel's geometry, web/maps_big.py) and its buttons fill their cells; on a phone the attention heat map fits at 2
decimals and a tapped cell gives every digit. Screenshots go to test-artifacts/big-<net>-<width>.png.
"""

from __future__ import annotations

import copy
import time

import pytest

from big_layer_nets import BIG
from stepgrad.core.layers.spec import LayerNetwork

SIZES = {1280: 900, 390: 844}
DRAWN = {"conv": "button.weight", "rnn": "#panels table", "attention": "#panels table.heat",
         "batchnorm": "#panels table"}
BUDGET = 6.0  # seconds for a page drawn or a step answered on a loaded machine (idle: under 1 s; before: 17 s)
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.mark.browser
@pytest.mark.parametrize("width", list(SIZES))
@pytest.mark.parametrize("kind", list(BIG))
def test_a_big_network_is_drawn_quickly_legibly_and_fits(browser, artifacts, kind: str, width: int) -> None:
    pytest.importorskip("uvicorn")
    from tests.test_web_server import running_server

    page = browser.new_page(viewport={"width": width, "height": SIZES[width]}, has_touch=width < 600,
                            is_mobile=width < 600)
    page.set_default_timeout(30_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        with running_server(LayerNetwork.from_dict(copy.deepcopy(BIG[kind]))) as url:
            page.goto(url)  # a first visit warms the server up (imports, the first step)
            page.wait_for_selector("#layer-edit[data-ready=true]")
            began = time.perf_counter()
            page.reload()
            page.wait_for_selector("#layer-edit[data-ready=true]")
            page.wait_for_selector(DRAWN[kind])
            drawn = time.perf_counter() - began
            assert drawn < BUDGET, f"{kind} drawn in {drawn:.2f} s"
            assert page.evaluate(OVERFLOW) <= 0
            page.screenshot(path=str(artifacts / f"big-{kind}-{width}.png"))
            if kind == "conv":  # each layer (laid out when scrolled to: content-visibility) fits inside the page
                wide = page.evaluate("""() => [...document.querySelectorAll('.layer')].map(layer => {
                    layer.style.contentVisibility = 'visible';
                    return layer.scrollWidth - layer.clientWidth; })""")
                assert max(wide) <= 0, wide
                _kernel_weight(page)
                cell = page.locator('.map[data-map="net_c1"] td[data-pos="2,3,4"]')
                cell.click()  # a tap gives every digit at the bottom of the screen
                readout = page.inner_text("#cell-readout")
                assert readout == cell.get_attribute("title") and readout.startswith("net_c1[2,3,4] = ")
                assert len(readout.split(" = ")[1]) > len(cell.inner_text())
            if kind == "attention":
                _heat_map(page, width)
            began = time.perf_counter()
            page.click("#le-step")
            page.wait_for_selector("#le-step-summary")
            page.locator("#le-total", has_text="iteration 1").wait_for()
            stepped = time.perf_counter() - began
            assert stepped < BUDGET, f"{kind}: a step in {stepped:.2f} s"
            assert page.evaluate(OVERFLOW) <= 0
    finally:
        page.close()
    assert not problems, problems


def _kernel_weight(page) -> None:
    """k2[1,1,2,3] (c2: 4x8x8 in, 3x3, padding 1): the cells of out_p1's channel 1 it meets and the positions of c2's
    channel 1 it touches are cross-correlation's; the plan lists each with the values the maps show."""
    assert "found when you click it" in page.inner_text("#maps-summary")
    weight = page.locator('button.weight[data-name="k2[1,1,2,3]"]')
    for button in page.locator('.kernel[data-kernel="k1"] button.weight').all()[:18]:  # no white gap in any cell
        box, inner = button.locator("xpath=..").bounding_box(), button.bounding_box()
        assert box["width"] - inner["width"] <= 2 and box["height"] - inner["height"] <= 2, (box, inner)
    weight.click()
    touches = _touches(8, 8, stride=1, padding=1, p=2, q=3)
    met = page.eval_on_selector_all('.map[data-map="out_p1"] td.met', "cells => cells.map(c => c.dataset.pos)")
    assert sorted(met) == sorted(f"1,{u},{v}" for u, v in touches.values())
    for name in ("net_c2", "out_c2", "dE_total/dnet_c2"):
        touched = page.eval_on_selector_all(f'.map[data-map="{name}"] td.touched', "cells => cells.map(c => c.dataset.pos)")
        assert sorted(touched) == sorted(f"1,{r},{c}" for r, c in touches), name
    plan = page.locator('.kernel[data-kernel="k2"] .plan')
    assert plan.locator("li").count() == len(touches) == 56
    assert "it touches 56 positions of c2's channel 1; 8 more on the zero padding" in plan.inner_text()
    first = plan.locator("li").first.inner_text()  # at (1,1): out_p1[1,1,2], as the map shows it
    shown = page.inner_text('.map[data-map="out_p1"] td[data-pos="1,1,2"]')
    signal = page.inner_text('.map[data-map="dE_total/dnet_c2"] td[data-pos="1,1,1"]')
    assert shown != "0" and first == f"at (1,1): out_p1[1,1,2] = {shown}, dE_total/dnet_c2[1,1,1] = {signal}", first


def _touches(rows: int, cols: int, stride: int, padding: int, p: int, q: int) -> dict:
    """{output position (r, c): input cell (u, v)} kernel entry (p, q) meets, 1-based: the cell s(r-1)+p-P,
    s(c-1)+q-P where it lies inside the map (cross-correlation, as torch's unfold; tests/test_web_maps.py checks the
    rule against unfold itself)."""
    found = {}
    for r in range(1, (rows + 2 * padding - 3) // stride + 2):
        for c in range(1, (cols + 2 * padding - 3) // stride + 2):
            u, v = stride * (r - 1) + p - padding, stride * (c - 1) + q - padding
            if 1 <= u <= rows and 1 <= v <= cols:
                found[(r, c)] = (u, v)
    return found


def _heat_map(page, width: int) -> None:
    heat = page.locator('table.heat[data-which="a"]')
    cell = heat.locator("td[data-name]").first
    if width >= 600:
        assert page.locator(".heat-note").count() == 0
        return
    section = page.locator('section:has(table.heat[data-which="a"])')
    assert "Shown to 2 decimals" in section.locator(".heat-note").inner_text()
    scroll = section.locator(".scroll")
    assert scroll.evaluate("s => s.scrollWidth - s.clientWidth") <= 0  # all 8 keys in view
    cell.click()
    name = cell.get_attribute("data-name")
    readout = section.locator(".heat-readout").inner_text()
    assert readout.startswith(f"{name} = ") and len(readout.split("= ")[1]) > 6  # every digit
