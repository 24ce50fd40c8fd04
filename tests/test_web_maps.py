"""The explorer's maps page for layer-table networks (web/maps.py, static/maps.js): feature maps as grids of
values, and a click on a kernel weight marks every position it touches.

The positions are checked against an independent computation: for output position (r, c) of a conv layer
with stride s and padding P, kernel entry (p, q) meets input cell (s(r-1)+p-P, s(c-1)+q-P) when that is
inside the map (here by torch's unfold of a numbered image); never against the page's own data.
"""

from __future__ import annotations

import json

import pytest

from conv_gallery import CNN, STRIDED, random_spec
from stepgrad.core.layers.spec import LayerNetwork


def expected_touches(rows: int, cols: int, kernel: int, stride: int, padding: int, p: int, q: int):
    """{output position (r, c): input cell (u, v)} that kernel entry (p, q) meets (1-based), by torch's unfold."""
    torch = pytest.importorskip("torch")
    numbered = torch.arange(1, rows * cols + 1, dtype=torch.float64).reshape(1, 1, rows, cols)
    columns = torch.nn.functional.unfold(numbered, kernel, padding=padding, stride=stride)[0]
    out_cols = (cols + 2 * padding - kernel) // stride + 1
    row = columns[(p - 1) * kernel + (q - 1)]
    return {(j // out_cols + 1, j % out_cols + 1): ((int(v) - 1) // cols + 1, (int(v) - 1) % cols + 1)
            for j, v in enumerate(row.tolist()) if v > 0}


def test_the_api_reads_each_weights_touches_from_the_trace() -> None:
    import warnings

    with warnings.catch_warnings():  # starlette 1.x suggests httpx2 for its TestClient; httpx works
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from stepgrad.web.app import create_app

    client = TestClient(create_app(LayerNetwork.from_dict(STRIDED)), base_url="http://127.0.0.1:8000")
    assert client.get("/").text.count("maps.js") == 1
    data = client.get("/api/maps").json()
    kernel = next(k for k in data["kernels"] if k["name"] == "k1")
    for entry in kernel["entries"]:
        o, i, p, q = entry["position"]
        got = {tuple(t["out"][1:]): tuple(t["in"][1:]) for t in entry["touches"]}
        assert got == expected_touches(5, 5, 3, 2, 1, p, q), entry["name"]
        assert all(t["out"][0] == o and t["in"][0] == i for t in entry["touches"])
    assert client.get("/api/maps?sample=2").status_code == 422
    assert client.get("/api/maps?sample=x").json()["field"] == "sample"
    for path, body in (("/api/network", None), ("/api/explain", {}), ("/api/train", {"iterations": 1})):
        answer = client.get(path) if body is None else client.post(path, json=body)
        assert answer.status_code == 409 and "/api/maps" in answer.json()["error"], path  # never a dense answer
    assert TestClient(create_app(), base_url="http://127.0.0.1:8000").get("/api/maps").status_code == 404


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_clicking_a_kernel_weight_marks_every_position_it_touches(browser, width, artifacts) -> None:
    pytest.importorskip("uvicorn")
    from tests.test_web_server import running_server

    for name, spec, geometry in (("strided", STRIDED, (5, 5, 3, 2, 1)), ("cnn", CNN, (4, 4, 2, 1, 0))):
        page = browser.new_page(viewport={"width": width, "height": 900})
        try:
            with running_server(LayerNetwork.from_dict(spec)) as url:
                page.goto(url)
                page.wait_for_selector('button.weight[data-name="k1[1,1,1,1]"]')
                assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
                for weight in ("k1[1,1,1,1]", "k1[1,1,2,2]" if name == "cnn" else "k1[1,2,3,1]"):
                    page.click(f'button.weight[data-name="{weight}"]')
                    _, channel, p, q = (int(n) for n in weight.split("[")[1].rstrip("]").split(","))
                    touches = expected_touches(*geometry, p, q)
                    met = page.eval_on_selector_all('.map[data-map="x"] td.met', "cells => cells.map(c => c.dataset.pos)")
                    assert sorted(met) == sorted(f"{channel},{u},{v}" for u, v in touches.values()), (weight, met)
                    touched = page.eval_on_selector_all('.map[data-map="net_c1"] td.touched',
                                                        "cells => cells.map(c => c.dataset.pos)")
                    assert sorted(touched) == sorted(f"1,{r},{c}" for r, c in touches), (weight, touched)
                    assert page.locator(".plan:visible li").count() == len(touches)
                assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
                page.locator('.map[data-map="x"]').scroll_into_view_if_needed()
                page.screenshot(path=str(artifacts / f"conv-explorer-{name}-{width}.png"), full_page=True)
        finally:
            page.close()


@pytest.mark.browser
def test_a_random_gallery_network_draws_without_overflow(browser) -> None:
    pytest.importorskip("uvicorn")
    from tests.test_web_server import running_server

    for seed in (0, 3, 9):
        page = browser.new_page(viewport={"width": 390, "height": 844})
        try:
            with running_server(LayerNetwork.from_dict(json.loads(json.dumps(random_spec(seed))))) as url:
                page.goto(url)
                page.wait_for_selector("button.weight")
                page.click("button.weight")
                kernel = page.locator(".kernel").first
                layer = kernel.locator("xpath=ancestor::div[@class='layer']")
                listed = kernel.locator(".plan li").count()  # one per position the weight touches
                assert listed > 0
                # each position a different input cell (marked once) and a different output cell in each of the
                # layer's maps (net, out, dE_total/dnet), the 1-d maps of conv1d too
                assert page.locator("td.met").count() == listed, seed
                assert layer.locator(".layer-maps td.touched").count() == 3 * listed, seed
                assert page.evaluate("document.documentElement.scrollWidth") <= 391
        finally:
            page.close()
