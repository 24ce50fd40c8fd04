"""The explorer's matrix and graph views: POST /api/view, and the toggle in a real browser.

The numbers must be the trace's (compared with stepgrad.explain here) and the deck's published
figures; errors are 4xx JSON {"error", "field"}.
"""

from __future__ import annotations

import re
import warnings

import pytest

import stepgrad
from stepgrad.tracing.graph import computation_graph

pytest.importorskip("starlette")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from tests.browser_helpers import redrawn, typeset
from tests.conftest import require_tool
from tests.test_web_browser import page, server  # noqa: F401  (the explorer's page fixtures; browser comes from conftest)

from stepgrad.web.app import create_app

DE_DW5 = "0.0821670406"  # the deck's 0.082167041, at 9 digits


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), raise_server_exceptions=False, base_url="http://127.0.0.1:8000") as c:
        yield c


def test_matrix_view_names_every_entry(client):
    r = client.post("/api/view", json={"view": "matrix"})
    assert r.status_code == 200, r.text
    html = r.json()["html"]
    values = stepgrad.explain(stepgrad.builtin()).values
    cells = re.findall(r'<mtd data-name="([^"]+)" title="[^"]+ = ([^"]+)">', html)
    assert len(cells) > 40
    for name, shown in cells:
        assert float(shown) == pytest.approx(values[name], rel=1e-8, abs=1e-12), name
    assert f'<mtd data-name="dE_total/dw5" title="dE_total/dw5 = {DE_DW5}"><mn>{DE_DW5}</mn></mtd>' in html
    assert "<mo>[</mo><mtable>" in html  # bracketed matrices, typeset


@pytest.mark.graphviz
def test_graph_view_is_the_svg_of_the_graph(client):
    require_tool("dot")
    pytest.importorskip("graphviz")
    r = client.post("/api/view", json={"view": "graph", "only": "w1", "digits": 6})
    assert r.status_code == 200, r.text
    svg = r.json()["svg"]
    assert svg.startswith("<svg")
    nodes = computation_graph(stepgrad.explain(stepgrad.builtin())).only("w1").nodes
    assert svg.count('class="node"') == len(nodes)


@pytest.mark.parametrize("body, field", [({"view": "tree"}, "view"), ({"view": "graph", "only": "w99"}, "only"),
                                         ({"view": "graph", "only": 5}, "only")])
def test_bad_requests_are_one_clear_line(client, body, field):
    r = client.post("/api/view", json=body)
    assert r.status_code == 422 and r.json()["field"] == field and "Traceback" not in r.text


@pytest.mark.browser
@pytest.mark.graphviz
def test_the_toggle_in_the_browser(page):  # noqa: F811
    page.get_by_label("Matrix form").check()
    cell = page.locator('#view-output mtd[data-name="dE_total/dw5"]').last  # the value (the first is the name)
    cell.wait_for()
    assert cell.text_content().startswith(DE_DW5)  # a MathML cell has no inner_text
    assert page.locator("#derivation").is_hidden()
    page.select_option("#digits", "4")  # the view follows every redraw of the derivation
    from playwright.sync_api import expect

    expect(cell).not_to_contain_text(DE_DW5)
    expect(cell).to_contain_text("0.08217")
    typeset(page)  # the derivation's later steps redraw the view once more: let them come first
    require_tool("dot")
    with redrawn(page):
        page.get_by_label("Computation graph").check()
    page.locator("#view-output svg").wait_for()
    expect(page.locator("#view-output")).to_contain_text("dE_total/dw5")
    page.get_by_label("Chain rule").check()
    assert page.locator("#derivation").is_visible() and page.locator("#view-output").is_hidden()

