"""The HTML page: well-formed, every formula is MathML (no raw LaTeX outside annotations), nothing
fetched from anywhere, and it renders offline in headless Chromium (screenshot kept in the artifacts)."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET

import pytest
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, require_tool
from tests.test_render_formats import MATHML, html_values, two_samples

import stepgrad
from stepgrad.formats import render
from stepgrad.formats.mathml import to_mathml

SVG = "{http://www.w3.org/2000/svg}"
LATEX_COMMAND = re.compile(r"\\[a-zA-Z]+|\^\{|_\{")


def parse(page: str) -> ET.Element:
    assert page.startswith("<!DOCTYPE html>")
    return ET.fromstring(page.removeprefix("<!DOCTYPE html>"))


def visible_text(element: ET.Element) -> list[str]:
    """Every text node outside <annotation> and <style>."""
    out = []
    for child in element.iter():
        if child.tag in (f"{MATHML}annotation", "style", f"{SVG}style"):
            continue
        out += [t for t in (child.text, child.tail) if t and t.strip()]
    for a in element.iter(f"{MATHML}annotation"):  # the tail of an annotation is outside it
        if a.tail and a.tail.strip():
            out.append(a.tail)
    return out


@pytest.fixture(scope="module")
def seed_page() -> str:
    return render(stepgrad.explain(stepgrad.builtin()), "html")


def test_to_mathml_converts_the_templates_constructs():
    for latex in [r"\frac{1}{1 + e^{-x}}", r"a \cdot \left(b\right)", r"\max(0, x)", r"\ln x + \tanh x",
                  r"\mathrm{net}_{h_{1}}", r"3.51 \times 10^{-5}", r"f = \begin{cases} x & x > 0 \\ 0 & \text{else}\end{cases}"]:
        math = ET.fromstring(to_mathml(latex, display=True))
        assert math.tag == f"{MATHML}math" and math.get("display") == "block"
        assert math.find(f".//{MATHML}annotation").text == latex
        assert not [t for t in visible_text(math) if LATEX_COMMAND.search(t)], latex
    power = ET.fromstring(to_mathml(r"3.51 \times 10^{-5}"))
    sup = power.find(f".//{MATHML}msup")
    assert [e.text for e in sup.iter() if e.text] == ["10", "−5"]  # ×10⁻⁵ as MathML, not text; the sign joined to its number
    assert "×" in "".join(e.text or "" for e in power.iter(f"{MATHML}mo"))


def test_page_is_well_formed_and_self_contained(seed_page):
    root = parse(seed_page)
    assert root.find("head/style") is None and root.find(".//style") is not None  # inline CSS
    assert root.find(".//script") is None
    for element in root.iter():
        for attr in ("src", "href", "{http://www.w3.org/1999/xlink}href", "action", "poster"):
            value = element.get(attr)
            assert value is None or not re.match(r"^(https?:)?//", value), (element.tag, value)
    assert "url(" not in seed_page and "@import" not in seed_page
    assert "@media print" in seed_page


def test_every_formula_became_mathml(seed_page):
    root = parse(seed_page)
    maths = list(root.iter(f"{MATHML}math"))
    assert len(maths) > 150
    leftovers = [t for t in visible_text(root) if LATEX_COMMAND.search(t) or "$" in t]
    assert not leftovers, leftovers[:5]
    assert all(m.find(f".//{MATHML}annotation") is not None for m in maths)
    assert "\\frac" in seed_page  # only inside the annotations, checked above


def test_page_holds_the_network_diagram_and_every_step(seed_page):
    root = parse(seed_page)
    svg = root.find(f".//{SVG}svg")
    assert svg is not None
    edges = [e for e in svg.iter(f"{SVG}line") if (e.get("id") or "").startswith("edge-")]
    assert sorted(e.get("data-name") for e in edges) == [f"w{i}" for i in range(1, 9)]
    trace = stepgrad.explain(stepgrad.builtin())
    assert set(html_values(seed_page)) == set(trace.values)


def test_powers_of_ten_and_negatives_in_mathml():
    page = render(stepgrad.explain(two_samples()), "html", digits=3)
    root = parse(page)
    assert not [t for t in visible_text(root) if re.search(r"\de-\d", t)]
    w = root.find(".//*[@id='step-w12']")  # the given weight 3.51e-05
    sup = w.find(f".//{MATHML}msup")
    assert [e.text for e in sup.iter() if e.text] == ["10", "−5"]  # the sign joined to its number (stepgrad.formats.mathml)


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.browser
def test_page_renders_offline_in_chromium(seed_page, tmp_path, artifacts):
    require_tool(CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api")
    page_file = tmp_path / "explain.html"
    page_file.write_text(seed_page)
    requested = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            page.on("request", lambda r: requested.append(r.url))
            page.goto(page_file.as_uri())
            # MathML is laid out: a fraction is taller than a line of text, the diagram has its size
            frac = page.locator("#step-out_h1 mfrac").first.bounding_box()
            line = page.locator("#step-net_h1 mi").first.bounding_box()
            assert frac["height"] > 1.5 * line["height"]
            svg = page.locator("figure svg").bounding_box()
            assert svg["width"] > 400 and svg["height"] > 300
            shot = artifacts / "explain-html.png"
            page.screenshot(path=str(shot), full_page=True)
            page.emulate_media(media="print")
            pdf = page.pdf(format="A4")
        finally:
            browser.close()
    assert all(url.startswith("file:") for url in requested), requested
    width, height = _png_size(shot)
    assert width == 1000 and 3000 < height < 40_000
    assert 50_000 < shot.stat().st_size < 20_000_000
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 4  # prints over several pages


def test_trace_shows_itself_in_a_notebook():
    trace = stepgrad.explain(stepgrad.builtin()).select(["w5"])
    body = ET.fromstring(trace._repr_html_())
    assert body.tag == "div" and body.get("class") == "stepgrad" and body.find("style") is not None
    assert html_values(trace._repr_html_())["w5+"] == 0.35891648  # the deck's new w5
