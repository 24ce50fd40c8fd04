"""The explorer's faster paths show the same numbers: the loss curve's two update orders (each run equals
stepgrad.train under that order), a big matrix view drawn block by block as it is scrolled to (each block's
entries are the trace's), and the steps typeset after the first screenful. Timings are a benchmark
(benchmarks/explorer_views.py), not a test."""

from __future__ import annotations

import pytest
from tests.browser_helpers import expect, open_page, redrawn
from tests.gallery import network
from tests.test_web_server import running_server

import stepgrad

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def _explorer_needs(browser):
    pytest.importorskip("uvicorn")


def test_both_update_orders_on_the_loss_curve(browser):
    from stepgrad.training.loop import train

    net = network("2-3-3-1 relu, per-neuron biases")
    with running_server(net) as url:
        page = open_page(browser, url, 390, 844, touch=True)
        try:
            page.fill("#train-n", "100")
            page.click("#train")
            expect(page.locator("#train-status")).to_contain_text("trained 100", timeout=60_000)
            page.check("#both-orders")  # asked after a first run: the other order starts where the curve starts
            page.fill("#train-n", "60")
            page.click("#train")
            expect(page.locator("#train-status")).to_contain_text("trained 60", timeout=60_000)
            legend = page.locator("#loss-curve .curve-legend text").all_text_contents()
            assert [t.split(":")[0] for t in legend] == ["synchronous", "sequential"]
            for text, order in zip(legend, ["synchronous", "sequential"]):
                expected = train(net, 160, update_order=order).to_dict()["final_error"]
                assert float(text.rsplit("= ", 1)[1]) == pytest.approx(expected, rel=1e-5), (order, text)
            assert page.locator("#loss-curve path.curve-line.other").count() == 1
            page.locator("#loss-curve").scroll_into_view_if_needed()
            box = page.locator("#loss-curve").bounding_box()
            page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] / 2)
            lines = page.locator("#loss-curve .curve-readout tspan").all_text_contents()
            assert lines[0].startswith("iteration ") and [t.split(":")[0] for t in lines[1:]] == ["synchronous", "sequential"]
            card = page.locator("#loss-curve .curve-card").last.bounding_box()
            assert box["x"] - 0.5 <= card["x"] and card["x"] + card["width"] <= box["x"] + box["width"] + 0.5
            page.uncheck("#both-orders")
            expect(page.locator("#loss-curve .curve-legend")).to_have_count(0)
        finally:
            page.close()


def test_a_big_matrix_view_draws_each_block_when_it_is_scrolled_to(browser):
    trace = stepgrad.explain(network("16-16-10"))
    with running_server(network("16-16-10")) as url:
        page = open_page(browser, url, 1280, 900)
        try:
            page.get_by_label("Matrix form").check()
            page.locator("#view-output mtable").first.wait_for()
            lazy = page.locator('#view-output section[data-lazy][data-block="update"]')
            expect(lazy).to_have_count(1)  # not drawn yet: its heading holds its place
            assert page.locator("#view-output section[data-lazy]").count() >= 2
            lazy.scroll_into_view_if_needed()
            entry = page.locator('#view-output section[data-block="update"] .values mtd[data-name="w300+"]')
            entry.wait_for(state="attached")
            assert entry.get_attribute("title") == f"w300+ = {trace.lookup('w300+'):.9g}"
        finally:
            page.close()


def test_steps_past_the_first_screen_are_typeset_after_it(browser):
    with running_server(network("16-16-10")) as url:
        page = open_page(browser, url, 1280, 900)
        try:
            with redrawn(page):  # the title and the first steps at once, the others typeset after them
                page.click("#stage-next")  # the forward pass: 16-term formulas
            expect(page.locator("#derivation-title")).to_have_text("Forward pass")
            expect(page.locator("#derivation .step")).to_have_count(8)
            expect(page.locator("#derivation .step-later")).to_have_count(0)
            assert page.locator("#derivation .step math").count() > 8
        finally:
            page.close()
