"""The explorer fits every screen, in Chromium at 1280 and 390 px on the gallery: diagram labels at least
11 px on screen at the default zoom, none overlapping, digits that follow the zoom, no page wider than
the screen, the matrix and graph views inside their panel, touch targets of 44 px on a phone, and a loss
curve with few labels however far the error falls."""

from __future__ import annotations

import pytest
from tests.browser_helpers import expect, open_page, redrawn
from tests.gallery import ALL, network
from tests.test_pictures_layout import COLLISIONS_JS
from tests.test_web_server import running_server

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}

# the smallest text of the diagram as it is on screen: its font size times the picture's scale
SMALLEST_TEXT_JS = """() => {
  const svg = document.querySelector('#diagram svg');
  const scale = svg.getScreenCTM().a;
  const sizes = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim())
    .map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
  return Math.min(...sizes);
}"""
OVERFLOW_JS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture(scope="module", autouse=True)
def _explorer_needs(browser):
    pytest.importorskip("uvicorn")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("key", ALL)
def test_diagram_labels_readable_and_apart_at_the_default_zoom(browser, key, size):
    with running_server(network(key)) as url:
        page = open_page(browser, url, *SIZES[size], touch=size == "phone")
        try:
            for stage in ("weights", "gradients"):
                if stage == "gradients":  # the first backward stage puts the gradients on the edges
                    with redrawn(page):
                        page.locator("#stages .stage", has_text="Backward").first.click()
                    assert page.evaluate("document.querySelector('#diagram svg title').textContent").endswith("gradients")
                assert page.evaluate(SMALLEST_TEXT_JS) >= 11 - 0.01, (key, size, stage)  # float32 screen matrix
                result = page.evaluate(COLLISIONS_JS)
                assert result["bad"] == [], (key, size, stage, result["bad"][:5])
                assert page.evaluate(OVERFLOW_JS) <= 0
        finally:
            page.close()


def test_digits_follow_the_zoom_and_the_full_value_is_on_hover(browser):
    net = network("2-3-3-1 relu, per-neuron biases")
    with running_server(net) as url:
        page = open_page(browser, url, 1280, 900)
        try:
            svg = page.locator("#diagram svg")
            digits = int(svg.get_attribute("data-digits"))
            page.get_by_role("button", name="Full size, every digit").click()
            assert int(svg.get_attribute("data-digits")) == 8 > digits  # the explain default 9, capped at 8 on edges
            assert abs(float(svg.get_attribute("data-scale")) - 1) < 1e-3
            for _ in range(6):
                page.get_by_role("button", name="Zoom out").click()
            assert int(svg.get_attribute("data-digits")) == 3
            # the tooltip keeps every digit the page asks for, whatever the label shows
            w1 = float(net.weights[0][0, 0])
            assert page.locator("#diagram #edge-w1 title").text_content() == f"w1 = {w1:.9g}".replace("-", "\u2212")
            # Ctrl + wheel zooms in at the pointer
            before = float(svg.get_attribute("data-scale"))
            page.locator("#diagram .diagram-view").hover()
            page.keyboard.down("Control")
            page.mouse.wheel(0, -300)
            page.keyboard.up("Control")
            page.wait_for_function(f"+document.querySelector('#diagram svg').dataset.scale > {before}")
        finally:
            page.close()


def test_the_loss_curve_labels_at_most_8_decades_after_training_to_1e_30(browser):
    from stepgrad.core.spec import Network

    net = Network.from_dict({"name": "2-3-2 leaky", "layers": [2, 3, 2], "activations": ["leaky_relu", "leaky_relu"],
                             "seed": 3, "learning_rate": 0.1, "update_biases": True,
                             "samples": [{"inputs": [0.5, 1.0], "targets": [0.2, 0.8]}]})
    with running_server(net) as url:
        page = open_page(browser, url, 1280, 900)
        try:
            page.fill("#train-n", "5000")
            page.click("#train")
            expect(page.locator("#train-status")).to_contain_text("trained", timeout=120_000)
            last = page.evaluate("document.querySelector('#train-status').textContent")
            assert float(last.rsplit("= ", 1)[1]) < 1e-30, last
            ticks = page.eval_on_selector_all("#loss-curve .tick", "ts => ts.map(t => { const r = t.getBoundingClientRect();"
                                              " return [t.textContent, r.top, r.bottom]; })")
            assert 3 <= len(ticks) <= 8, ticks
            tops = sorted(ticks, key=lambda t: t[1])
            assert all(a[2] <= b[1] for a, b in zip(tops, tops[1:])), tops  # no two labels overlap
            # hovering the curve reads out the point under the pointer
            page.locator("#loss-curve").scroll_into_view_if_needed()
            box = page.locator("#loss-curve").bounding_box()
            page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
            readout = page.locator("#loss-curve .curve-readout text")
            assert readout.text_content().startswith("iteration ")
            assert "E_total = " in readout.text_content()
        finally:
            page.close()


def _inside(page, selector: str) -> bool:
    """True if the element's box lies within its panel's (horizontally)."""
    return page.evaluate(f"""() => {{ const e = document.querySelector({selector!r}), p = e.closest('.panel');
        const a = e.getBoundingClientRect(), b = p.getBoundingClientRect();
        return a.left >= b.left - 0.5 && a.right <= b.right + 0.5; }}""")


@pytest.mark.graphviz
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("key", ["deck", "8-6-4", "16-16-10"])
def test_matrix_and_graph_views_fit_their_panel(browser, key, size):
    from tests.conftest import require_tool

    require_tool("dot")
    with running_server(network(key)) as url:
        page = open_page(browser, url, *SIZES[size], touch=size == "phone")
        try:
            page.get_by_label("Matrix form").check()
            page.locator("#view-output mtable").first.wait_for()
            assert page.locator("#view-output mo", has_text="[").count() > 0  # bracketed, not bars
            assert _inside(page, "#view-output") and _inside(page, "#view-output .stepgrad-matrix")
            assert page.evaluate(OVERFLOW_JS) <= 0, (key, size, "matrix")
            if key == "16-16-10":  # the whole graph is too big to draw: a weight's part of it
                page.get_by_label("Chain rule").check()
                with redrawn(page):
                    page.locator("#diagram [data-name='w1']").first.dispatch_event("click")
            with redrawn(page):  # the view's own answer
                page.get_by_label("Computation graph").check()
            page.locator("#view-output svg").wait_for()
            assert _inside(page, "#view-output .diagram-view")
            fits = page.evaluate("""() => { const v = document.querySelector('#view-output .diagram-view');
                return v.querySelector('svg').getBoundingClientRect().width <= v.clientWidth + 1; }""")
            assert fits, (key, size)  # fitted to the panel's width at first ...
            page.get_by_role("button", name="Full size, every digit").last.click()
            scale = float(page.locator("#view-output svg").get_attribute("data-scale"))
            assert abs(scale - 1) < 1e-3  # ... and zoomed to full size on demand, inside the same panel
            assert page.evaluate(OVERFLOW_JS) <= 0, (key, size, "graph")
        finally:
            page.close()


def test_touch_targets_are_44_px_on_a_phone(browser):
    with running_server(network("3-4-2 tanh/softmax CE, 2 samples")) as url:
        page = open_page(browser, url, 390, 844, touch=True)
        try:
            # a checkbox or radio is reached through its label; the file input through its styled label
            small = page.evaluate("""() => [...document.querySelectorAll('button, select, input, .file-button')]
                .filter(e => e.offsetParent && e.type !== 'file')
                .map(e => ['checkbox', 'radio'].includes(e.type)
                    ? e.closest('label') || (e.id && document.querySelector(`label[for="${e.id}"]`)) || e : e)
                .map(e => [e.id || e.textContent.trim().slice(0, 20) || e.name || e.type, e.getBoundingClientRect()])
                .filter(([, r]) => r.width < 44 - 0.5 || r.height < 44 - 0.5)
                .map(([n, r]) => `${n} ${Math.round(r.width)}x${Math.round(r.height)}`)""")
            assert small == []
        finally:
            page.close()


def test_nested_subscripts_stay_at_10_px(browser):
    with running_server(network("3-4-2 tanh/softmax CE, 2 samples")) as url:  # target_{o_1}^{[1]}: a script's script
        page = open_page(browser, url, 1280, 900)
        try:
            page.locator("#derivation math").first.wait_for()
            smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('#derivation math :is(mi, mn, mo)')]
                .filter(e => e.textContent.trim()).map(e => parseFloat(getComputedStyle(e).fontSize)))""")
            assert smallest >= 10 - 1e-6
        finally:
            page.close()


def test_the_network_list_names_the_served_one_and_every_bundled_example(browser):
    from stepgrad.web.api import builtins

    with running_server(network("3-4-2 tanh/softmax CE, 2 samples")) as url:
        page = open_page(browser, url, 1280, 900)
        try:
            options = page.eval_on_selector_all("#builtin option", "os => os.map(o => [o.textContent, o.selected])")
            assert options[0] == ["gallery 3-4-2 (served)", True]
            assert [text for text, _ in options[1:]] == builtins()
            assert {"mazur", "gallery-16-16-10-tanh-softmax"} <= set(builtins())
            page.select_option("#builtin", "mazur")
            page.click("#load-builtin")
            expect(page.locator("#diagram #edge-w8")).to_have_count(1)  # the deck's 2-2-2 has w1..w8 only
            expect(page.locator("#diagram #edge-w9")).to_have_count(0)
        finally:
            page.close()


def test_a_big_network_says_what_it_leaves_out_and_shows_the_selected_neuron(browser):
    import stepgrad

    net = network("16-16-10")
    trace = stepgrad.explain(net)
    with running_server(net) as url:
        page = open_page(browser, url, 1280, 900)
        try:
            legend = page.locator("#diagram .sg-legend").text_content()
            assert "Left out: the edge labels, the biases" in legend and "net and out" in legend, legend
            summary = page.locator("#diagram .sg-summary").text_content()
            assert "16 inputs" in summary and "tanh · 16 neurons" in summary and "softmax · 10 neurons" in summary
            # edges coloured by sign and size: shades of blue and of orange-brown, not two colours
            colours = set(page.eval_on_selector_all("#diagram line[data-name]", "ls => ls.map(l => getComputedStyle(l).stroke)"))
            assert len(colours) >= 6, colours
            page.locator("#diagram #neuron-h3").dispatch_event("click")
            card = page.locator('#diagram [data-card="h3"]')
            expect(card).to_have_count(1)
            digits = int(page.locator("#diagram svg").get_attribute("data-digits"))
            shown = f"{trace.lookup('out_h3'):.{digits}g}".replace("-", "\u2212")
            assert f"out = {shown}" in card.text_content()
            # the selection colour is not the negative weights' colour
            selected = page.evaluate("getComputedStyle(document.querySelector('#diagram #neuron-h3 circle')).stroke")
            negative = page.evaluate("getComputedStyle(document.querySelector('#diagram line.sg-neg')).stroke")
            rgb = [[int(c) for c in colour[4:-1].split(",")] for colour in (selected, negative)]
            assert sum(abs(a - b) for a, b in zip(*rgb)) > 150, rgb
        finally:
            page.close()


def test_a_long_trace_told_weight_by_weight_has_a_contents_list(browser):
    with running_server(network("16-16-10")) as url:
        page = open_page(browser, url, 1280, 900)
        try:
            page.select_option("#group", "weight")
            groups = page.locator("#stages details.stage-group summary")
            expect(groups).to_have_count(2)  # one folding group per layer of weights, not 416 headings
            assert page.locator("#stages > li").count() < 12
            expect(groups.first).to_contain_text("(w257..w416): 160")
            expect(page.locator("#stages .stage-group-items button")).to_have_count(0)  # made when opened
            groups.nth(1).click()
            page.locator("#stages .stage-group-items button", has_text="w5").first.click()
            expect(page.locator('#stages [aria-current="step"]')).to_have_attribute("title", "The w5 change")
            expect(page.locator("#derivation-title")).to_contain_text("w5")
        finally:
            page.close()


def test_a_long_section_lists_its_steps_past_the_first_page_by_value(browser):
    import stepgrad

    trace = stepgrad.explain(network("16-16-10"))
    with running_server(network("16-16-10")) as url:
        page = open_page(browser, url, 1280, 900)
        try:  # the first section (469 given values): 8 with formulas, the rest one line each
            expect(page.locator("#derivation .step")).to_have_count(8)
            rest = page.locator("#derivation .compact li")
            expect(rest).to_have_count(469 - 8)
            name = rest.first.locator("button").text_content()
            assert rest.first.text_content() == f"{name} = {trace.lookup(name):.9g}"
            page.locator("#derivation .compact-steps .more").click()
            expect(page.locator("#derivation .step")).to_have_count(16)
        finally:
            page.close()


@pytest.mark.parametrize("key", ["8-6-4", "16-16-10"])
def test_the_matrix_page_fits_a_laptop_and_a_phone(browser, key):
    import stepgrad
    from stepgrad.formats.matrix_writers import render_matrix

    page_html = render_matrix(stepgrad.explain(network(key)), "html")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page_html
    for width, height in SIZES.values():
        page = browser.new_page(viewport={"width": width, "height": height})
        try:
            page.set_content(page_html)
            assert page.evaluate(OVERFLOW_JS) <= 0, (key, width)
            assert page.locator("h1").evaluate("h => h.closest('.stepgrad-matrix') !== null")  # inside the layout
        finally:
            page.close()


def test_values_flow_forward_and_errors_back_unless_motion_is_reduced(browser, tmp_path):
    with running_server() as url:  # the deck's 2-2-2: 8 edges
        page = open_page(browser, url, 1280, 900)
        try:
            page.click("#stage-next")  # the forward pass: a dot along each of the 8 edges, layer by layer
            dots = page.locator("#diagram .sg-flow circle.sg-flow-value")
            expect(dots).to_have_count(8)
            # o1's net and out appear once its dots have arrived, after the second layer's run (hidden for 1.95 s)
            assert float(page.locator("#neuron-o1 .sg-value").first.evaluate("t => getComputedStyle(t).opacity")) < 0.5
            expect(page.locator("#diagram .sg-flow")).to_have_count(0, timeout=5_000)  # the run ends and clears
            assert float(page.locator("#neuron-o1 .sg-value").first.evaluate("t => getComputedStyle(t).opacity")) == 1
            page.click("#stage-next")  # the error
            page.click("#stage-next")  # backward, output layer: error signals back along w5..w8
            expect(page.locator("#diagram .sg-flow circle.sg-flow-error")).to_have_count(4)
        finally:
            page.close()
        page = browser.new_page(viewport={"width": 1280, "height": 900}, reduced_motion="reduce")
        try:
            page.goto(url)
            page.wait_for_selector("body[data-ready=true]")
            with redrawn(page):
                page.click("#stage-next")
            expect(page.locator('#stages [aria-current="step"]')).to_have_text("Forward pass")
            assert page.locator("#diagram .sg-flow").count() == 0 and page.locator("#replay").is_hidden()
        finally:
            page.close()
