"""The notebook widget (stepgrad.widget, anywidget): its model builds, its ESM and CSS are the explorer's own
files, and rendered in Chromium with a stand-in for the notebook's model (its messages go to the widget's Python
side) it shows the numbers of `stepgrad explain` and of the matrix view, and trains as `stepgrad train` does."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

import pytest
from tests.browser_helpers import expect
from tests.gallery import network

import stepgrad

anywidget = pytest.importorskip("anywidget")
STATIC = resources.files("stepgrad.web") / "static"


def test_the_widget_is_the_explorer_page():
    w = stepgrad.widget(network("3-4-2 tanh/softmax CE, 2 samples"))
    assert isinstance(w, anywidget.AnyWidget)
    assert w.name == "gallery 3-4-2"
    for module in ("app.js", "api.js", "diagram.js", "views.js", "curve.js", "orders.js"):
        assert json.dumps((STATIC / module).read_text(encoding="utf-8")) in w._esm, module  # the file itself
    assert (STATIC / "widget.js").read_text(encoding="utf-8") in w._esm
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    body = page[page.index("<header"):page.index("</footer>")]
    assert json.dumps(body)[1:-1] in w._esm  # the page's body
    assert ".diagram-view {" in w._css and ":root" not in w._css  # the page's rules, kept to the widget


def test_the_widget_answers_as_the_server_does():
    w = stepgrad.widget()
    sent = []
    w.send = sent.append  # the reply goes to the page (no notebook here)
    w._answer(w, {"id": 7, "method": "POST", "path": "/api/explain", "body": {"only": ["w5"]}}, [])
    assert sent[0]["id"] == 7 and sent[0]["status"] == 200
    assert json.loads(sent[0]["body"])["values"]["dE_total/dw5"] == stepgrad.explain(stepgrad.builtin()).values["dE_total/dw5"]
    w._answer(w, {"id": 8, "method": "POST", "path": "/api/explain", "body": {"spec": {"layers": [2, 0]}}}, [])
    reply = json.loads(sent[1]["body"])
    assert sent[1]["status"] == 422 and reply["error"] and set(reply) == {"error", "field"}
    w._answer(w, {"id": 9, "method": "POST", "path": "/api/export", "body": {"format": "toml"}}, [])
    assert sent[2]["filename"] == "network.toml"
    assert stepgrad.loads(sent[2]["body"], "toml").to_dict()["weights"] == stepgrad.builtin().to_dict()["weights"]


PAGE_JS = """async ([esm]) => {
  const listeners = [];
  const model = {  // the notebook's side of the widget: its messages go to the kernel (window.kernel here)
    on: (event, f) => { if (event === "msg:custom") listeners.push(f); },
    off: () => {}, get: () => undefined, set: () => {}, save_changes: () => {},
    send: async (content) => { const reply = await window.kernel(content); for (const f of listeners) f(reply); },
  };
  const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
  const widget = (await import(url)).default;
  await widget.render({ model, el: document.getElementById("cell") });
}"""


def cli_json(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "stepgrad", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.browser
@pytest.mark.slow
def test_the_widget_renders_in_chromium_with_the_clis_numbers(browser, tmp_path):
    net = network("3-4-2 tanh/softmax CE, 2 samples")
    spec = tmp_path / "net.json"
    stepgrad.save(net, spec)
    trace = cli_json("explain", str(spec), "--format", "json")
    values = trace["values"]
    w = stepgrad.widget(net)
    replies = []

    def kernel(content):  # what the notebook's comm does: the widget's Python side answers
        w._answer(w, content, [])
        return replies.pop()

    w.send = replies.append
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.expose_function("kernel", kernel)
        page.set_content('<!doctype html><html><head><meta charset="utf-8"></head><body><div id="cell"></div></body></html>')
        page.add_style_tag(content=w._css)
        page.evaluate(PAGE_JS, [w._esm])
        page.wait_for_selector("body[data-ready=true]", state="attached")
        expect(page.locator("#diagram .error-node")).to_have_text(f"E_total = {values['E_total']:.9g}")
        page.locator('#diagram [data-name="w1"]').first.dispatch_event("click")
        expect(page.locator("#derivation-title")).to_contain_text("w1")
        expect(page.locator("#derivation")).to_contain_text(f"{values['dE_total/dw1']:.9g}")
        page.get_by_label("Matrix form").check()
        cell = page.locator('#view-output .values mtd[data-name="w1"]').first
        expect(cell).to_have_attribute("title", f"w1 = {values['w1']:.9g}")
        page.fill("#train-n", "40")
        page.click("#train")
        expect(page.locator("#train-status")).to_contain_text("trained 40", timeout=60_000)
        trained = stepgrad.train(net, 40).to_dict()["final_error"]
        assert page.locator("#train-status").text_content().endswith(f"E_total = {trained:.9g}")
        assert page.locator("#cell .panel").count() == 4 and not errors, errors
        page.screenshot(path=str(tmp_path / "widget.png"), full_page=True)
    finally:
        page.close()
