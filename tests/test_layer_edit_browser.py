"""Editing and training on the maps page and the sequence page in Chromium at 1280 and 390 px: a kernel weight and
an input cell set by clicking them, a bad value refused with the server's message, one step, 20 steps of training
with the loss curve, reset; the page never wider than the screen. The numbers the page shows are checked against
the engine run here on the network edited by the test's own hand (tests/test_layer_edit.py holds the engine to
PyTorch for the same requests)."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from test_layer_edit import CONV, SEQ

SIZES = {1280: 900, 390: 844}
CASES = {  # page: (spec, the weight clicked, its index in its parameter, the input cell clicked, its sample index)
    "maps": (CONV, 'button.weight[data-name="k1[1,1,1,2]"]', ("c1", "kernel", (0, 0, 0, 1)),
             '.map[data-map="x"] td[data-pos="1,2,2"]', "x[1,2,2][1]", (0, 0, 1, 1)),
    "sequence": (SEQ, 'td.le-value[data-edit-name="Wh1[2,1]"]', ("h1", "weight_h", (1, 0)),
                 'td[data-name="x[2,2][1]"]', "x[2,2][1]", (0, 1, 1)),
}
NUMBER = r"(-?\d+(?:\.\d+)?(?:e[+-]\d+)?)"


def _edited(spec: dict, weight: tuple, cell: tuple) -> LayerNetwork:
    """The served network with the weight set to 0.45 and the input cell to 0.35, by hand."""
    net = LayerNetwork.from_dict(copy.deepcopy(spec))
    label, role, index = weight
    layer = next(layer for layer in net.all_layers() if layer.label == label)
    layer.params[role][index] = 0.45
    assert net.inputs is not None
    net.inputs[cell] = 0.35
    return net


def _number(text: str, before: str) -> float:
    found = re.search(re.escape(before) + r"\s*=\s*" + NUMBER, text)
    assert found, (before, text)
    return float(found.group(1))


@pytest.mark.browser
@pytest.mark.parametrize("width", list(SIZES))
@pytest.mark.parametrize("kind", list(CASES))
def test_edit_step_train_and_reset_in_the_browser(browser, artifacts, kind: str, width: int) -> None:
    pytest.importorskip("uvicorn")
    from tests.test_web_server import running_server

    spec, weight_at, weight, cell_at, cell_name, cell = CASES[kind]
    page = browser.new_page(viewport={"width": width, "height": SIZES[width]}, has_touch=width < 600,
                            is_mobile=width < 600)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    shot = lambda stage: page.screenshot(path=str(artifacts / f"layer-edit-{kind}-{stage}-{width}.png"),  # noqa: E731
                                         full_page=True)
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    try:
        with running_server(LayerNetwork.from_dict(copy.deepcopy(spec))) as url:
            page.goto(url)
            page.wait_for_selector("#layer-edit[data-ready=true]")
            assert page.evaluate(overflow) <= 0
            if kind == "sequence":
                page.click("#le-parameters summary")
            page.click(weight_at)  # the Set box opens with the weight's name and value
            name = page.input_value("#le-name")
            assert name == ("k1[1,1,1,2]" if kind == "maps" else "Wh1[2,1]")
            page.fill("#le-value", "abc")
            page.click("#le-dock button[type=submit]")
            page.wait_for_selector("#le-dock-error:not([hidden])")
            assert "'value' must be a number like 0.25" in page.inner_text("#le-dock-error")
            shot("refused")
            page.fill("#le-value", "0.45")
            page.click("#le-dock button[type=submit]")
            page.wait_for_selector("#le-dock", state="hidden")
            page.click(cell_at)
            assert page.input_value("#le-name") == cell_name
            page.fill("#le-value", "0.35")
            page.press("#le-value", "Enter")
            page.wait_for_selector("#le-dock", state="hidden")
            page.locator("#le-total", has_text="edited").wait_for()
            page.locator(cell_at, has_text="0.35").wait_for()

            net = _edited(spec, weight, cell)
            rec = engine.step(net, net.inputs, net.targets, after=True)
            total = page.inner_text("#le-total")
            assert _number(total, "E_total") == pytest.approx(rec.forward.error, rel=1e-5)
            assert _number(total, "E_total+") == pytest.approx(rec.after.error, rel=1e-5)
            label, role, index = weight
            gradient = page.get_attribute(f'td[data-name="dE_total/d{name}"]', "title")
            assert float(gradient) == pytest.approx(rec.grads[(label, role)][index], rel=1e-12)
            if kind == "maps":
                assert page.inner_text(weight_at) == "0.45"
            shot("edited")

            page.click("#le-step")
            page.wait_for_selector("#le-step-summary")
            summary = page.inner_text("#le-step-summary")
            assert summary.startswith("Step 1:")
            assert _number(summary, "E_total") == pytest.approx(rec.forward.error, rel=1e-5)
            assert _number(summary, "E_total+") == pytest.approx(rec.after.error, rel=1e-5)
            engine.apply(net, rec)
            after = page.get_attribute(f'td.le-value[data-edit-name="{name}"]', "title")
            assert float(after.split("= ")[1].split(" ")[0]) == pytest.approx(
                next(l for l in net.all_layers() if l.label == label).params[role][index], rel=1e-12)

            page.fill("#le-n", "20")
            page.click("#le-train")
            page.locator("#le-status", has_text="trained 20 iterations").wait_for()
            page.locator("#le-total", has_text="iteration 21").wait_for()
            for _ in range(20):
                rec = engine.step(net, net.inputs, net.targets)
                engine.apply(net, rec)
            final = engine.step(net, net.inputs, net.targets)
            assert _number(page.inner_text("#le-total"), "E_total") == pytest.approx(final.forward.error, rel=1e-5)
            assert page.locator("#le-curve path.curve-line").count() == 1
            assert page.evaluate(overflow) <= 0
            page.locator("#le-curve").scroll_into_view_if_needed()
            shot("trained")

            page.click("#le-reset")
            page.locator("#le-total", has_text="iteration 0").wait_for()
            served = LayerNetwork.from_dict(copy.deepcopy(spec))
            first = engine.step(served, served.inputs, served.targets)
            assert _number(page.inner_text("#le-total"), "E_total") == pytest.approx(first.forward.error, rel=1e-5)
            page.wait_for_selector('#le-last[hidden]', state="attached")
            if kind == "maps":
                value = float(served.layers[0].params["kernel"][0, 0, 0, 1])
                assert float(page.get_attribute(weight_at, "title").split("= ")[1]) == pytest.approx(value, rel=1e-12)
            assert np.isfinite(first.forward.error)
            assert page.evaluate(overflow) <= 0
    finally:
        page.close()
    assert not problems, problems


@pytest.mark.browser
def test_by_keyboard_on_another_sample(browser) -> None:
    """Enter on a kernel weight selects it and opens the Set box (its Enter never submits the box too); with sample 2
    chosen, an input cell of sample 2 is edited and the page stays on sample 2 of the edited network."""
    pytest.importorskip("uvicorn")
    from tests.test_web_server import running_server

    page = browser.new_page(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    try:
        with running_server(LayerNetwork.from_dict(copy.deepcopy(CONV))) as url:
            page.goto(url)
            page.wait_for_selector("#layer-edit[data-ready=true]")
            page.focus('button.weight[data-name="k1[2,1,1,1]"]')
            page.keyboard.press("Enter")
            assert page.locator(".plan:visible li").count() > 0  # selected as a click selects it
            assert page.input_value("#le-name") == "k1[2,1,1,1]" and page.is_visible("#le-dock")
            page.fill("#le-value", "0.9")
            page.press("#le-value", "Enter")
            page.wait_for_selector("#le-dock", state="hidden")
            page.select_option("#maps-sample", "2")
            page.locator("#maps-summary", has_text="sample 2 of 2").wait_for()
            cell = '.map[data-map="x"] td[data-pos="1,1,1"]'
            page.focus(cell)
            page.keyboard.press("Enter")
            assert page.input_value("#le-name") == "x[1,1,1][2]"
            page.fill("#le-value", "-1")
            page.press("#le-value", "Enter")
            page.locator(cell, has_text="-1").wait_for()
            assert page.input_value("#maps-sample") == "2"
            net = LayerNetwork.from_dict(copy.deepcopy(CONV))
            net.layers[0].params["kernel"][1, 0, 0, 0] = 0.9
            net.inputs[1, 0, 0, 0] = -1.0
            rec = engine.step(net, net.inputs, net.targets, after=True)
            assert _number(page.inner_text("#le-total"), "E_total") == pytest.approx(rec.forward.error, rel=1e-5)
            assert page.inner_text('button.weight[data-name="k1[2,1,1,1]"]') == "0.9"
    finally:
        page.close()


@pytest.mark.browser
def test_stop_ends_training_and_keeps_the_steps_done(browser) -> None:
    pytest.importorskip("uvicorn")
    from tests.test_web_server import running_server

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        with running_server(LayerNetwork.from_dict(copy.deepcopy(SEQ))) as url:
            page.goto(url)
            page.wait_for_selector("#layer-edit[data-ready=true]")
            page.fill("#le-n", "100000")
            page.click("#le-train")
            page.locator("#le-status", has_text="/ 100,000 iterations").wait_for(timeout=60_000)
            assert page.inner_text("#le-train") == "Stop" and page.is_disabled("#le-step")
            page.click("#le-train")
            page.locator("#le-status", has_text="stopped after").wait_for(timeout=60_000)
            done = int(re.search(r"stopped after ([\d,]+)", page.inner_text("#le-status")).group(1).replace(",", ""))
            assert 0 < done < 100_000 and done % 5000 == 0  # whole chunks: the one cut short is not kept
            page.locator("#le-total", has_text=f"iteration {done:,}").wait_for()
            assert page.inner_text("#le-train") == "Train" and not page.is_disabled("#le-step")
    finally:
        page.close()


@pytest.mark.browser
def test_a_network_too_large_to_edit_is_still_shown(browser) -> None:
    pytest.importorskip("uvicorn")
    from tests.test_web_server import running_server

    big = {"layers": [{"type": "input", "shape": [1, 12, 12]}, {"type": "conv2d", "out_channels": 4, "kernel": 3},
                      {"type": "flatten"}, {"type": "dense", "neurons": 80}],
           "samples": [{"inputs": [[0.1] * 12] * 12, "targets": [0.5] * 80}]}
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        with running_server(LayerNetwork.from_dict(big)) as url:
            page.goto(url)
            page.wait_for_selector("#layer-edit[data-ready=refused]")
            page.wait_for_selector('button.weight[data-name="k1[1,1,1,1]"]')  # the maps are drawn
            assert "more than a request may carry" in page.inner_text("#le-hint")
            assert page.is_disabled("#le-step") and page.is_disabled("#le-train")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        page.close()
