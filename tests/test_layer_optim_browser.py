"""The Edit and train panel's optimizer row and targets in Chromium (390 and 1280 px), on the rnn + attention network:
a bad hyperparameter is refused with the server's line, Adam with beta1 = 0.8 is used, and Step and Train show the
E_total torch.optim.Adam gives (tests/test_layer_edit_optimizers.py holds every digit; the page shows 6); a target
in the last layer's table opens the Set box with its name."""

from __future__ import annotations

import copy
import re

import pytest

from stepgrad.core.layers.spec import LayerNetwork
from test_layer_edit import SEQ
from test_layer_edit_optimizers import RATE, _torch_run

NUMBER = r"(-?\d+(?:\.\d+)?(?:e[+-]\d+)?)"


def _number(text: str, before: str) -> float:
    found = re.search(re.escape(before) + r"\s*=\s*" + NUMBER, text)
    assert found, (before, text)
    return float(found.group(1))


@pytest.mark.browser
@pytest.mark.slow  # torch
@pytest.mark.parametrize("width", [1280, 390])
def test_choose_adam_step_and_train_as_torch(browser, artifacts, width: int) -> None:
    pytest.importorskip("uvicorn")
    from tests.test_web_server import running_server

    spec = copy.deepcopy(SEQ) | {"learning_rate": RATE}
    page = browser.new_page(viewport={"width": width, "height": 900}, has_touch=width < 600, is_mobile=width < 600)
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        with running_server(LayerNetwork.from_dict(copy.deepcopy(spec))) as url:
            page.goto(url)
            page.wait_for_selector("#layer-edit[data-ready=true]")
            assert "Gradient descent" in page.inner_text("#le-opt-line")
            page.select_option("#le-opt", "adam")
            assert page.input_value('input[data-hyper="beta2"]') == "0.999"
            page.fill('input[data-hyper="beta1"]', "1.5")
            page.click("#le-opt-set")
            page.wait_for_selector("#le-error:not([hidden])")
            assert "adam's beta1 (decay of the first moment) must be in [0, 1), got 1.5" in page.inner_text("#le-error")
            page.fill('input[data-hyper="beta1"]', "0.8")
            page.click("#le-opt-set")
            page.locator("#le-opt-line", has_text="Adam (beta1 = 0.8").wait_for()
            state = LayerNetwork.from_dict(copy.deepcopy(spec))
            served = {"parameters": {layer.label: {role: a.tolist() for role, a in layer.params.items()}
                                     for layer in state.all_layers() if layer.params},
                      "inputs": state.inputs.tolist(), "learning_rate": RATE}
            errors, _ = _torch_run("sequence", served, "adam", 6, None, {"beta1": 0.8})
            page.click("#le-step")
            page.wait_for_selector("#le-step-summary")
            summary = page.inner_text("#le-step-summary")
            assert _number(summary, "E_total") == pytest.approx(errors[0], rel=1e-5)
            assert _number(summary, "E_total+") == pytest.approx(errors[1], rel=1e-5)
            page.locator("#le-opt-line", has_text="after 1 steps").wait_for()
            page.fill("#le-n", "5")
            page.click("#le-train")
            page.locator("#le-total", has_text="iteration 6").wait_for()
            assert _number(page.inner_text("#le-total"), "E_total") == pytest.approx(errors[6], rel=1e-5)
            assert "after 6 steps" in page.inner_text("#le-opt-line")
            assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
            page.locator("#le-optimizer").scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / f"layer-optimizer-{width}.png"))
            page.click('#panels td[data-name="target_d1[2,1][1]"]')  # the dense layer's target row: editable
            assert page.input_value("#le-name") == "target_d1[2,1][1]"
            assert page.input_value("#le-value") == str(SEQ["samples"][0]["targets"][1])
    finally:
        page.close()
    assert not problems, problems
