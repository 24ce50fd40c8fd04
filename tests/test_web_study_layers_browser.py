"""Study mode on the maps page (a conv network) and the sequence page (an rnn) in Chromium at 1280 and 390 px: a student
names a layer rule, answers a blank right, writes the flipped kernel's gradient (named, with a hint that never gives
the value), then computes the new weight from their own slip (follows, naming the value used); nothing gets wider than
the screen. Screenshots go to the test artifacts."""

from __future__ import annotations

import re

import pytest
from tests.test_explorer_polish import expect
from tests.test_web_server import running_server

from stepgrad.teach.exercise_layers import generate_conv
from stepgrad.teach.exercise_sequences import generate_sequence

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
CONV = generate_conv(seed=3)
RNN = generate_sequence("rnn", seed=3)
# how far the study panel (or anything in it) reaches past the screen's right edge, in px
PANEL_OVERFLOW_JS = """() => { const panel = document.getElementById('study'); const w = document.documentElement.clientWidth;
  let worst = panel.scrollWidth - panel.clientWidth;
  for (const el of panel.querySelectorAll('*')) { const r = el.getBoundingClientRect();
    if (r.width > 0 && el.offsetParent !== null) worst = Math.max(worst, r.right - w); }
  return Math.max(worst, document.documentElement.scrollWidth - w); }"""


@pytest.fixture(scope="module", autouse=True)
def _explorer_needs(browser):
    pytest.importorskip("uvicorn")


def _serve(net):
    from stepgrad.api.study_routes import routes
    from stepgrad.web.app import create_app

    return running_server(app=create_app(net, extra_routes=routes()))


def _open(browser, url: str, size: str):
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height}, has_touch=size == "phone",
                            is_mobile=size == "phone")
    page.set_default_timeout(20_000)
    page.goto(url)
    page.get_by_role("button", name="Study mode").click()
    page.wait_for_selector("body[data-study=ready]")
    return page


def _answer(page, name: str, value: str):
    item = page.locator(f'#study li.study-blank[data-name="{name}"]')
    item.locator("input").fill(value)
    item.get_by_role("button", name="Check").click()
    said = item.locator(".study-feedback")
    expect(said).to_have_attribute("data-verdict", re.compile("correct|follows|close|wrong|error"))
    return item, said


@pytest.mark.parametrize("size", SIZES)
def test_a_student_studies_the_conv_network_on_the_maps_page(browser, size, artifacts):
    values = CONV.trace.values
    with _serve(CONV.network) as url:
        page = _open(browser, url, size)
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        try:
            titles = page.locator("#study h3")
            expect(titles.nth(0)).to_have_text("1. Worked: w_d1[1,1], k1[1,1,1,1]")
            expect(titles.nth(2)).to_have_text("3. Problem: w_d1[2,3], k1[1,1,2,2]")
            route = page.locator('#study li[data-name="dE_total/dout_c1[1,1,3]"]')  # the max-pool's route, asked once
            route.get_by_role("button", name="sum rule").click()
            expect(route.locator(".study-feedback")).to_contain_text("Not sum rule: it is the max-pool route. Which "
                                                                     "window chose this cell as its largest")
            grad = "dE_total/dk1[1,1,2,2]"
            item, said = _answer(page, grad, f"{values['dE_total/dk1[1,1,1,1]']:.6g}")
            expect(said).to_have_attribute("data-verdict", "wrong")
            expect(said).to_contain_text("kernel flipped")
            expect(item.locator(".study-hint")).to_contain_text("Hint: the sum over positions: dE_total/dk1[1,1,2,2] =")
            assert f"{values[grad]:.4g}" not in item.inner_text()
            slipped = f"{values['dE_total/dk1[1,1,1,1]']:.6g}"
            new = float(CONV.spec["layers"][1]["weights"][0][0][1][1]) - CONV.spec["learning_rate"] * float(slipped)
            item, said = _answer(page, "k1[1,1,2,2]+", f"{new:.6g}")
            expect(said).to_have_attribute("data-verdict", "follows")
            expect(said).to_contain_text(f"Follows: right from your {grad} = {slipped}")
            _answer(page, "dE_total/dw_d1[2,3]", f"{values['dE_total/dw_d1[2,3]']:.6g}")
            expect(page.locator("#study-score")).to_contain_text("2 of 6 blanks right")
            assert page.evaluate(PANEL_OVERFLOW_JS) <= 1, size
            page.locator("#study").screenshot(path=str(artifacts / f"study-conv-{size}.png"))
            item.scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / f"study-conv-{size}-screen.png"))
            assert not problems, problems
        finally:
            page.close()


@pytest.mark.parametrize("size", SIZES)
def test_a_student_studies_the_rnn_on_the_sequence_page(browser, size, artifacts):
    values = RNN.trace.values
    with _serve(RNN.network) as url:
        page = _open(browser, url, size)
        try:
            expect(page.locator("#study h3").nth(1)).to_contain_text("2. Faded: w_d1[1,2], Wh1[1,1]")
            rule = page.locator('#study li[data-name="dE_total/dWx1[1,1]"]')  # BPTT: a term per time step
            rule.get_by_role("button", name="the sum over positions").click()
            expect(rule.locator(".study-feedback")).to_contain_text("Right: the sum over positions. Why does one "
                                                                    "shared weight collect a term")
            slip_at, next_ = "dE_total/dh1_t1[2]", "dE_total/dnet_h1_t1[2]"
            slipped = f"{values[slip_at] * 1.5:.6g}"
            _, said = _answer(page, slip_at, slipped)
            expect(said).to_have_attribute("data-verdict", "wrong")
            _, said = _answer(page, next_, f"{float(slipped) * values['dh1_t1[2]/dnet_h1_t1[2]']:.6g}")
            expect(said).to_have_attribute("data-verdict", "follows")
            expect(said).to_contain_text(f"your {slip_at} = {slipped}")
            assert page.evaluate(PANEL_OVERFLOW_JS) <= 1, size
            page.locator("#study").screenshot(path=str(artifacts / f"study-rnn-{size}.png"))
            page.screenshot(path=str(artifacts / f"study-rnn-{size}-screen.png"))
        finally:
            page.close()


def test_a_page_that_edits_its_network_studies_that_one(browser):
    """study_layers.setStudyNetwork (for a page that edits its network): the plan is the edited network's."""
    import json

    from stepgrad.teach.study_layers import LayerQuiz, session

    edited = generate_conv(seed=3, shape="channels")
    titles = [part.title for part in session(LayerQuiz(edited.network))]
    with _serve(CONV.network) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(20_000)
        try:
            page.goto(url)
            page.evaluate("async (spec) => { const m = await import('/static/study_layers.js'); "
                          "m.setStudyNetwork(() => ({ spec })); }", json.loads(json.dumps(edited.spec)))
            page.get_by_role("button", name="Study mode").click()
            page.wait_for_selector("body[data-study=ready]")
            expect(page.locator("#study h3")).to_have_text(titles)
        finally:
            page.close()


def test_study_mode_walks_the_network_as_edited_in_the_edit_and_train_panel(browser):
    """The Edit and train panel's learning rate set to 0.125: the worked update line of study mode uses it."""
    with _serve(CONV.network) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(20_000)
        try:
            page.goto(url)
            page.wait_for_selector("#le-rate")
            page.fill("#le-rate", "0.125")
            page.click("#le-rate-set")
            page.locator("#le-total", has_text="edited").wait_for()
            page.get_by_role("button", name="Study mode").click()
            page.wait_for_selector("body[data-study=ready]")
            line = page.locator('#study li[data-name="k1[1,1,1,1]+"] .study-line')
            expect(line).to_contain_text(" - 0.125 * ")
        finally:
            page.close()
