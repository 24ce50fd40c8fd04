"""The explorer in a real browser: Playwright for Python driving Debian's Chromium (/usr/bin/chromium,
launched from its system path; nothing is downloaded).

The figures are the seed deck's, typed in from the deck; an edited network is checked against the
sigmoid computed here. A screenshot is saved to the test artifacts (STEPGRAD_DOCS_SCREENSHOT=1 also
writes docs/serve.png for the README).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips
    expect = None

from tests.browser_helpers import typeset
from tests.conftest import ROOT
from tests.test_web_server import running_server

pytestmark = pytest.mark.browser

OUT_O1 = "0.75136507"
DE_DW5 = "0.082167041"
W5_NEW = "0.35891648"
E_AFTER = {"synchronous": "0.291027774", "sequential": "0.291027924"}
TRAINED_OUT_O1 = "0.015913620"  # synchronous order, 10,000 iterations
NUMBER = re.compile(r"-?\d+\.\d+(?:e-?\d+)?")
BAD_SPEC = b'layers = [2, 2]\nactivation = "sigmod"\n\n[[samples]]\ninputs = [1, 2]\ntargets = [0, 1]\n'


def same(value: float, published: str) -> bool:
    """value, rounded to the significant digits the published figure shows, is that figure."""
    digits = len(published.replace("-", "").replace(".", "").lstrip("0"))
    return float(f"{value:.{digits}g}") == float(published)


def shows(text: str, published: str) -> bool:
    """Some number printed in `text` rounds to the published figure."""
    return any(same(float(m), published) for m in NUMBER.findall(text))


def value_of(page, name: str) -> float:
    """The number the Values list shows for `name` ("out_o1 = 0.75136507")."""
    item = page.locator(f'#values li:has(button[data-name="{name}"])')
    return float(item.inner_text().split("=")[1])


@pytest.fixture(scope="module", autouse=True)
def _explorer_needs(browser):
    """The explorer tests also need the web extra and patient expectations."""
    sync_api = pytest.importorskip("playwright.sync_api")
    sync_api.expect.set_options(timeout=20_000)
    pytest.importorskip("uvicorn")


@pytest.fixture(scope="module")
def server():
    with running_server() as url:
        yield url


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.set_default_timeout(20_000)
    page.goto(server)
    page.wait_for_selector("body[data-ready=true]")
    typeset(page)
    yield page
    context.close()
    assert not [p for p in problems if "422" not in p], problems  # a refused upload logs its 422


def click_name(page, name: str) -> None:
    """Click `name` in the diagram when it is drawn there, else in the Values list."""
    # an edge is clicked on its label (a horizontal line has no height to click in)
    in_diagram = page.locator(f'#diagram #label-{name}, #diagram #neuron-{name}, #diagram button[data-name="{name}"]')
    target = in_diagram.first if in_diagram.count() else page.locator(f'#values button[data-name="{name}"]')
    target.click()
    expect(page.locator("#derivation-title")).to_contain_text(name)
    typeset(page)  # the title comes first, the steps past the first screenful just after it


def test_replay_the_deck(page, artifacts):
    # the forward pass: out_o1 as the deck prints it
    assert same(value_of(page, "out_o1"), OUT_O1)
    compare = page.inner_text("#compare")
    assert shows(compare, E_AFTER["synchronous"]) and shows(compare, E_AFTER["sequential"])

    # w5's derivation, as MathML, carries the deck's dE_total/dw5
    click_name(page, "w5")
    derivation = page.locator("#derivation")
    assert derivation.locator("math").count() >= 5
    assert shows(derivation.text_content(), DE_DW5)
    assert shows(derivation.locator('[data-step="w5+"]').text_content(), W5_NEW)

    # a hidden weight lists every path to the outputs
    click_name(page, "w1")
    assert page.locator("#derivation .paths .eq").count() == 2  # one formula per path (each wraps between its terms)

    # apply the update: w5 becomes the deck's new w5
    page.click("#update")
    expect(page.locator("#values")).to_contain_text(f"w5 = {W5_NEW}")
    assert same(value_of(page, "w5"), W5_NEW)

    # the update-order switch: E_total after the update under each order
    page.click("#reset")
    expect(page.locator("#values")).to_contain_text("w5 = 0.4")
    page.check('input[name="order"][value="sequential"]')
    expect(page.locator("#values")).to_contain_text(f"E_total+ = {E_AFTER['sequential']}")
    page.check('input[name="order"][value="synchronous"]')
    expect(page.locator("#values")).to_contain_text(f"E_total+ = {E_AFTER['synchronous']}")

    # train 10,000 iterations: progress, a live loss curve, and the deck's trained output
    page.fill("#train-n", "10000")
    page.click("#train")
    page.wait_for_selector("#train-status:has-text('trained 10,000 iterations')", timeout=60_000)
    expect(page.locator("#values")).to_contain_text("out_o1 = 0.0159")
    assert same(value_of(page, "out_o1"), TRAINED_OUT_O1)
    assert abs(value_of(page, "out_o1") - 0.01591) < 5e-6
    assert page.eval_on_selector("#train-progress", "p => p.value === p.max && p.max === 10000")
    path = page.get_attribute("#loss-curve path.curve-line", "d")
    assert path is not None and path.count("L") >= 100
    page.screenshot(path=str(artifacts / "serve-trained.png"), full_page=True)


def test_edit_a_weight_recomputes(page):
    before = value_of(page, "out_h1")
    assert same(before, "0.593269992")
    page.fill("#edit-w1", "0.9")
    page.press("#edit-w1", "Tab")
    expect(page.locator("#values")).not_to_contain_text("out_h1 = 0.593269992")
    expected = 1 / (1 + math.exp(-(0.9 * 0.05 + 0.2 * 0.1 + 0.35)))  # the sigmoid of net_h1, by hand
    assert value_of(page, "out_h1") == pytest.approx(expected, rel=1e-8)
    assert value_of(page, "w1") == 0.9
    # a value that is not a number is refused on the page, with the field named
    page.fill("#edit-learning-rate", "fast")
    page.press("#edit-learning-rate", "Tab")
    page.wait_for_selector("#error:not([hidden])")
    assert "Learning rate" in page.inner_text("#error")
    # layer sizes: a 2-3-2 network gets new weights w1..w12 and is explained at once
    page.fill("#edit-layers", "2, 3, 2")
    page.press("#edit-layers", "Tab")
    page.wait_for_selector("#edit-w12")
    assert page.locator('#values button[data-name="out_h3"]').count() == 1


def test_stop_cancels_the_running_training_request(page):
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.fill("#train-n", "100000")
    for _ in range(5):  # a Stop that lands between two chunks cancels nothing in flight: try again
        page.click("#train")
        page.wait_for_selector("#train:has-text('Stop')")
        page.click("#train")  # Stop, while a chunk of 5,000 iterations is (usually) on its way
        page.wait_for_selector("#train-status:has-text('stopped after')", timeout=20_000)
        expect(page.locator("#train")).to_have_text("Train")
        if any(url.endswith("/api/train") for url in failed):
            break
    assert any(url.endswith("/api/train") for url in failed)  # the request was cancelled, not awaited


def test_step_controls_walk_the_training_step(page):
    title = page.locator("#derivation-title")
    for expected in ("Forward pass", "The total error", "Backward pass: output layer (w5..w8)",
                     "Derivation of w5"):  # the first edge being differentiated
        page.click("#stage-next")
        expect(title).to_have_text(expected)
    typeset(page)  # the title changes first; the steps past the first screenful are typeset just after it
    assert shows(page.locator("#derivation").text_content(), DE_DW5)
    if page.locator('#diagram [data-name="w5"]').count():
        assert "active" in (page.get_attribute('#diagram [data-name="w5"]', "class") or "")


def test_upload_a_bad_spec_shows_the_error(page):
    page.set_input_files("#upload", files=[{"name": "bad.toml", "mimeType": "text/plain", "buffer": BAD_SPEC}])
    page.wait_for_selector("#error:not([hidden])")
    message = page.inner_text("#error")
    assert "bad.toml" in message and "activation" in message and "sigmod" in message
    # the network on the page is still the seed one
    assert same(value_of(page, "out_o1"), OUT_O1)
    good = b'layers = [1, 1]\nweights = [[[2.0]]]\nbiases = [0.0]\n[[samples]]\ninputs = [0.5]\ntargets = [1.0]\n'
    page.set_input_files("#upload", files=[{"name": "one.toml", "mimeType": "text/plain", "buffer": good}])
    page.wait_for_selector("#error[hidden]", state="attached")
    expect(page.locator("#values")).to_contain_text("out_o1 = 0.731058579")


def test_keyboard_and_download(page):
    # every name in the diagram can be reached with Tab and chosen with Enter
    edges = page.locator("#diagram [data-name]")
    if edges.count():
        focusable = page.eval_on_selector_all("#diagram [data-name][tabindex='0'], #diagram button[data-name]",
                                              "els => els.map(e => e.dataset.name || e.getAttribute('data-name'))")
        assert sorted(focusable) == sorted(set(focusable))  # one tab stop per name
        assert {"w1", "w5", "h1", "o1", "E_total"} <= set(focusable)
        page.focus('#diagram [data-name="w5"]')
        page.keyboard.press("Enter")
        expect(page.locator("#derivation-title")).to_contain_text("w5")
    # the Values list is made of buttons: Enter works there too
    page.focus('#values button[data-name="E_total"]')
    page.keyboard.press("Enter")
    expect(page.locator("#derivation-title")).to_contain_text("E_total")
    # every form control has a label
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && e.type !== 'radio')
        .map(e => e.id)""")
    assert unlabelled == []
    with page.expect_download() as info:
        page.select_option("#download-format", "toml")
        page.click("#download")
    download = info.value
    assert download.suggested_filename == "network.toml"
    import tomllib

    spec = tomllib.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert spec["layers"] == [2, 2, 2] and spec["weights"][1][0][0] == 0.4


def test_readable_on_a_phone(browser, server, artifacts):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.goto(server)
    page.wait_for_selector("body[data-ready=true]")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 392, f"the page is {width}px wide on a 390px screen"
    assert same(value_of(page, "out_o1"), OUT_O1)
    page.screenshot(path=str(artifacts / "serve-phone.png"))
    context.close()


def test_screenshot(page, artifacts):
    click_name(page, "w5")
    page.evaluate("window.scrollTo(0, 0)")
    shot = artifacts / "serve.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 20_000
    if os.environ.get("STEPGRAD_DOCS_SCREENSHOT") == "1":
        page.screenshot(path=str(ROOT / "docs" / "serve.png"), full_page=False)
