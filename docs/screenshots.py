"""The explorer's screenshots under docs/screenshots/ (`make screenshots`): each main view at 1280 and 390 px.

    python docs/screenshots.py            # every shot
    python docs/screenshots.py diagram    # only the shots whose name contains "diagram"

Serves the gallery's 3-4-2 network and the seed deck with `stepgrad serve`'s app and drives the system's
Chromium with Playwright (no browser is downloaded).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

DOCS = Path(__file__).resolve().parent
OUT = DOCS / "screenshots"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@contextmanager
def serving(spec) -> Iterator[str]:
    """The explorer app for `spec` on a free loopback port."""
    from stepgrad.web.app import create_app
    from stepgrad.web.background import serving as background

    with background(create_app(spec)) as url:
        yield url


def settle(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(150)


def _view(name: str) -> Callable:
    def go(page) -> None:
        page.locator(f'.views input[value="{name}"]').check()
        settle(page)
        page.locator(".views").evaluate("e => e.scrollIntoView()")
    return go


def _train(page) -> None:
    page.fill("#train-n", "5000")
    page.click("#train")
    page.locator("#train-status", has_text="trained").wait_for(timeout=120_000)
    settle(page)
    page.locator(".train-panel").scroll_into_view_if_needed()
    box = page.locator("#loss-curve").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] / 2)  # the hover readout


def _select(name: str) -> Callable:
    def go(page) -> None:
        page.locator(f'#diagram [data-name="{name}"]').first.dispatch_event("click")
        settle(page)
    return go


def _focus(name: str) -> Callable:
    def go(page) -> None:
        _select(name)(page)
        page.wait_for_timeout(800)  # a phone scrolls to the derivation: come back to the diagram
        page.get_by_role("button", name="Zoom to the selection and its paths").click()
        page.locator("#diagram .zoom-bar").evaluate("e => e.scrollIntoView()")
        page.wait_for_timeout(300)
    return go


def _flow(page) -> None:
    page.click("#stage-next")
    page.click("#stage-next")
    page.click("#stage-next")  # the backward pass of the output layer: error signals on their way back
    page.locator("#diagram .zoom-bar").evaluate("e => e.scrollIntoView()")
    page.locator("#diagram .sg-flow circle").first.wait_for(state="attached")
    page.wait_for_timeout(150)


def _orders(page) -> None:
    page.check("#both-orders")
    page.fill("#train-n", "3000")
    page.click("#train")
    page.locator("#train-status", has_text="trained").wait_for(timeout=120_000)
    settle(page)
    page.locator(".train-panel").scroll_into_view_if_needed()
    box = page.locator("#loss-curve").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)  # both runs' readout


def _edit_and_train(weight: str) -> Callable:
    """A layer page (maps or sequence): one value set, one step, 200 steps of training, the list opened."""
    def go(page) -> None:
        page.wait_for_selector("#layer-edit[data-ready=true]")
        page.click("#le-parameters summary")
        page.click(f'td.le-value[data-edit-name="{weight}"]')
        page.fill("#le-value", "0.45")
        page.press("#le-value", "Enter")
        page.wait_for_selector("#le-dock", state="hidden")
        page.click("#le-step")
        page.wait_for_selector("#le-step-summary")
        page.fill("#le-n", "200")
        page.click("#le-train")
        page.locator("#le-status", has_text="trained").wait_for(timeout=120_000)
        settle(page)
    return go


# name -> (network, what to do before the shot, clip to this element or None for the viewport)
SHOTS: dict[str, tuple[str, Callable | None, str | None]] = {
    "diagram": ("3-4-2 tanh/softmax CE, 2 samples", None, None),
    "selected": ("deck", _select("w1"), None),
    "big": ("16-16-10", _focus("h3"), None),
    "flow": ("deck", _flow, "#diagram"),
    "matrix": ("deck", _view("matrix"), None),
    "graph": ("deck", lambda page: (_select("w5")(page), _view("graph")(page)), None),
    "curve": ("2-3-2 leaky", _train, ".train-panel"),
    "orders": ("3-4-2 tanh/softmax CE, 2 samples", _orders, ".train-panel"),
    "conv-edit": ("conv", _edit_and_train("k1[1,1,1,2]"), "#layer-edit"),
    "sequence-edit": ("rnn and attention", _edit_and_train("Wh1[2,1]"), "#layer-edit"),
}


LEAKY = {"name": "2-3-2 leaky", "layers": [2, 3, 2], "activations": ["leaky_relu", "leaky_relu"], "seed": 3,
         "learning_rate": 0.1, "update_biases": True, "samples": [{"inputs": [0.5, 1.0], "targets": [0.2, 0.8]}]}


LAYERED = {"conv": "CONV", "rnn and attention": "SEQ"}  # layer-table networks of tests/test_layer_edit.py


def layered(key: str):
    """A layer-table network of tests/test_layer_edit.py (the conv and the rnn + attention network)."""
    sys.path.insert(0, str(DOCS.parent / "tests"))  # it reads the galleries as the tests do
    import test_layer_edit
    from stepgrad.core.layers.spec import LayerNetwork

    return LayerNetwork.from_dict(getattr(test_layer_edit, LAYERED[key]))


def main(wanted: str = "") -> None:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(DOCS.parent))
    from tests.gallery import network

    from stepgrad.core.spec import Network

    global LEAKY
    LEAKY = Network.from_dict(LEAKY) if isinstance(LEAKY, dict) else LEAKY

    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        for shot, (key, action, clip) in SHOTS.items():
            if wanted not in shot:
                continue
            with serving(LEAKY if key == "2-3-2 leaky" else layered(key) if key in LAYERED else network(key)) as url:
                for size, (width, height) in WIDTHS.items():
                    page = browser.new_page(viewport={"width": width, "height": height},
                                            is_mobile=size == "phone", has_touch=size == "phone")
                    page.goto(url)
                    page.wait_for_selector("#layer-edit" if key in LAYERED else "body[data-ready=true]")
                    settle(page)
                    if action:
                        action(page)
                    path = OUT / f"{shot}-{size}.png"
                    if clip:
                        page.locator(clip).screenshot(path=str(path))
                    else:
                        page.screenshot(path=str(path))
                    print(path.relative_to(DOCS.parent), file=sys.stderr)
                    page.close()
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:2])
