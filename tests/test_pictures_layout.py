"""The diagram's layout, measured where it is read: in Chromium, at desktop and phone size, over the
gallery, in every view (weights, gradients, updated). No text box overlaps another and no text sits on a
neuron it does not belong to; edge labels lie on their own edge; when labels cannot fit they are dropped
and the picture says so."""

from __future__ import annotations

import pytest
from tests.gallery import SMALL, network

import stepgrad
from stepgrad.pictures.diagram import network_layout, network_svg
from stepgrad.pictures.layout import Box, text_box

VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}
SHOWS = ("weights", "gradients", "updated")

# Every <text> box against every other, and against every neuron circle of another group; a pixel of
# tolerance for anti-aliasing. Returns the offending pairs as readable strings.
COLLISIONS_JS = """() => {
  const texts = [...document.querySelectorAll('svg.sg-net text')].filter(t => t.textContent.trim());
  const box = e => e.getBoundingClientRect();
  const hit = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 &&
                        Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  const bad = [];
  for (let i = 0; i < texts.length; i++)
    for (let j = i + 1; j < texts.length; j++)
      if (hit(box(texts[i]), box(texts[j]))) bad.push(texts[i].textContent + ' / ' + texts[j].textContent);
  for (const c of document.querySelectorAll('svg.sg-net .sg-neuron circle')) {
    const r = box(c), cx = (r.left + r.right) / 2, cy = (r.top + r.bottom) / 2, rad = r.width / 2;
    for (const t of texts) {
      if (t.parentNode === c.parentNode) continue;
      const b = box(t), nx = Math.max(b.left, Math.min(cx, b.right)), ny = Math.max(b.top, Math.min(cy, b.bottom));
      if ((nx - cx) ** 2 + (ny - cy) ** 2 < (rad - 1) ** 2) bad.push(t.textContent + ' on ' + c.parentNode.id);
    }
  }
  return {bad, count: texts.length};
}"""



@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("key", SMALL)
def test_no_text_collides_in_any_view(browser, key, viewport):
    net = network(key)
    trace = stepgrad.explain(net)
    width, height = VIEWPORTS[viewport]
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        for show in SHOWS:
            svg = network_svg(net, trace, show=show)
            # as the HTML page shows it: scaled to the width on a desktop, at its own size in a scroll box on a phone
            page.set_content(f'<!DOCTYPE html><meta name="viewport" content="width=device-width">'
                             f'<body style="margin:0"><div style="overflow-x:auto">{svg}</div></body>')
            result = page.evaluate(COLLISIONS_JS)
            assert result["count"] > 0
            assert result["bad"] == [], (key, show, viewport, result["bad"][:5])
    finally:
        page.close()


@pytest.mark.parametrize("key", SMALL)
def test_labels_sit_on_their_own_edge_and_clear_of_everything(key):
    net = network(key)
    place, values = network_layout(net, stepgrad.explain(net), show="gradients")
    for name, label in place.labels.items():
        x1, y1, x2, y2 = place.edges[name]
        # the label's centre lies on the segment of its edge
        t = label.t
        assert abs(x1 + t * (x2 - x1) - label.x) < 1e-6 and abs(y1 + t * (y2 - y1) - label.y) < 1e-6
        assert 0.05 < t < 0.95
    labels = [lab.box for lab in place.labels.values()]
    assert not [(a, b) for n, a in enumerate(labels) for b in labels[n + 1:] if a.overlaps(b)]
    assert not [(a, b) for a in labels for b in place.obstacles() if a.overlaps(b)]


def test_too_many_labels_are_dropped_and_the_picture_says_so():
    net = network("8-6-4")
    place, _ = network_layout(net, stepgrad.explain(net), show="weights")
    assert not place.labelled and not place.labels
    svg = network_svg(net, stepgrad.explain(net))
    assert "too many to label" in svg and "hover or focus an edge" in svg


def test_dead_relu_neurons_are_marked():
    net = network("2-3-3-1 relu, per-neuron biases")
    trace = stepgrad.explain(net)
    svg = network_svg(net, trace)
    dead = [n for n in ("h1_1", "h1_2", "h1_3", "h2_1", "h2_2", "h2_3") if trace.lookup(f"out_{n}") == 0.0]
    assert dead  # the gallery's ReLU network has dead neurons for its sample
    for name in dead:
        assert f'id="neuron-{name}" class="sg-neuron sg-hidden sg-dead"' in svg
    assert "dead: out = 0" in svg


def test_legend_explains_colour_and_width():
    svg = network_svg(stepgrad.builtin(), stepgrad.explain(stepgrad.builtin()), show="gradients")
    assert "gradient &gt; 0" in svg and "gradient &lt; 0" in svg and "width, opacity: size |gradient|" in svg


def test_text_box_is_generous():
    box = text_box("w1 = 0.15", 100, 50)
    assert isinstance(box, Box) and box.x1 - box.x0 > 9 * 13 * 0.55 and box.y0 < 50 - 13 * 0.8


def test_dropped_labels_leave_no_collision_either(browser):
    # 40 weights (within max_labels) whose gradient labels cannot all fit: dropped, and the neurons'
    # own text still clear of each other
    net = stepgrad.Network.from_dict({"layers": [6, 4, 4], "seed": 1,
                                      "samples": [{"inputs": [0.3] * 6, "targets": [0.5] * 4}]})
    trace = stepgrad.explain(net)
    place, _ = network_layout(net, trace, show="gradients")
    assert not place.labelled
    svg = network_svg(net, trace, show="gradients")
    assert "too many to label" in svg and svg.count("<title>∂E/∂w") == 40  # hover shows each value
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.set_content(f"<body style='margin:0'>{svg}</body>")
        assert page.evaluate(COLLISIONS_JS)["bad"] == []
    finally:
        page.close()
