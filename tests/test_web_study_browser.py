"""Study mode in a real browser (Chromium via Playwright) at 1280 and 390 px: a student names a rule, answers a
blank right, makes the classic slip (one path only), then computes the next step from their own slip: the page
says correct, wrong with a hint (never the value) and follows naming the value used; the page never gets wider than
the screen. Screenshots go to the test artifacts."""

from __future__ import annotations

import re

import pytest
from tests.browser_helpers import expect, open_page
from tests.test_explorer_fit import OVERFLOW_JS
from tests.test_web_server import running_server

import stepgrad

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
VALUES = stepgrad.explain(stepgrad.builtin()).values
ONE_PATH = f"{VALUES['dE_o1/dout_h2']:.9g}"
SLIPPED_DW3 = f"{float(ONE_PATH) * VALUES['dout_h2/dnet_h2'] * VALUES['i1']:.9g}"


@pytest.fixture(scope="module", autouse=True)
def _explorer_needs(browser):
    pytest.importorskip("uvicorn")


@pytest.fixture(scope="module")
def server():
    from stepgrad.api.study_routes import routes
    from stepgrad.web.app import create_app

    with running_server(app=create_app(extra_routes=routes())) as url:
        yield url


def _answer(page, name: str, value: str):
    item = page.locator(f'#study li.study-blank[data-name="{name}"]')
    item.locator("input").fill(value)
    item.get_by_role("button", name="Check").click()
    said = item.locator(".study-feedback")
    expect(said).to_have_attribute("data-verdict", re.compile("correct|follows|close|wrong|error"))  # marked
    return item, said


@pytest.mark.parametrize("size", SIZES)
def test_a_student_studies_the_served_network(browser, server, size, artifacts):
    width, height = SIZES[size]
    page = open_page(browser, server, width, height, touch=size == "phone")
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        page.get_by_role("button", name="Study mode").click()
        page.wait_for_selector("body[data-study=ready]")
        expect(page.locator("#study h3").first).to_have_text("1. Worked: w5, w1")
        # a rule prompt, answered right and wrong
        rule = page.locator('#study li[data-name="dE_total/dw5"]')
        rule.get_by_role("button", name="chain rule").click()
        expect(rule.locator(".study-feedback")).to_have_text("Right: chain rule. Which path from w5 to the error does "
                                                              "this product follow?")
        wrong_rule = page.locator('#study li[data-name="dout_o1/dnet_o1"]')
        wrong_rule.get_by_role("button", name="power rule").click()
        expect(wrong_rule.locator(".study-feedback")).to_contain_text("Not power rule: it is the activation's derivative.")
        # right
        item, said = _answer(page, "dE_total/dw7", f"{VALUES['dE_total/dw7']:.6g}")
        expect(said).to_have_attribute("data-verdict", "correct")
        expect(said).to_have_text("Correct")
        # wrong: the diagnosis and a hint from the rule, never the value
        item, said = _answer(page, "dE_total/dout_h2", ONE_PATH)
        expect(said).to_have_attribute("data-verdict", "wrong")
        expect(said).to_contain_text("one path only for a hidden neuron")
        expect(item.locator(".study-hint")).to_contain_text("Hint: sum rule: dE_total/dout_h2 = dE_o1/dout_h2 + dE_o2/dout_h2")
        assert f"{VALUES['dE_total/dout_h2']:.4g}" not in item.inner_text()
        # consistent from the student's own slip: follows, naming the values it used
        _answer(page, "dout_h2/dnet_h2", f"{VALUES['dout_h2/dnet_h2']:.9g}")
        item, said = _answer(page, "dE_total/dw3", SLIPPED_DW3)
        expect(said).to_have_attribute("data-verdict", "follows")
        expect(said).to_contain_text(f"Follows: right from your dE_total/dout_h2 = {ONE_PATH}")
        expect(page.locator("#study-score")).to_contain_text("3 of ")
        assert page.evaluate(OVERFLOW_JS) <= 0, size
        page.locator("#study").screenshot(path=str(artifacts / f"study-{size}.png"))
        item.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"study-{size}-screen.png"))
        assert not problems, problems
    finally:
        page.close()
