"""`stepgrad serve` of a sequence model: GET /api/sequence (time steps as columns, attention weights as a heat map)
and the page in Chromium at 1280 and 390 px.

The numbers are checked against independent references: the rnn's states against a tanh recurrence computed
here with numpy, the attention weights against a softmax computed here, each BPTT row's terms against their
sum and the gradient PyTorch autograd gives (compare_with_torch's own test holds the rest).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from stepgrad.core.layers.spec import LayerNetwork

starlette = pytest.importorskip("starlette")
with warnings.catch_warnings():  # starlette 1.x suggests httpx2 for its TestClient; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from stepgrad.web.app import create_app  # noqa: E402

SPEC = {
    "name": "rnn and attention", "loss": "half_squared_error", "learning_rate": 0.1, "step_reduction": "mean",
    "layers": [{"type": "sequence", "steps": 3, "features": 2},
               {"type": "rnn", "hidden": 2, "output": "sequence", "weights_x": [[0.5, -0.3], [-0.4, 0.2]],
                "weights_h": [[0.3, -0.2], [0.6, 0.1]], "biases": [0.1, -0.1]},
               {"type": "attention", "causal": True, "key_size": 2,
                "weights_q": [[0.9, -0.4], [0.3, 1.1]], "weights_k": [[-0.6, 0.8], [1.2, 0.2]],
                "weights_v": [[0.5, -0.7], [0.4, 0.6]], "weights_o": [[0.8, -0.3], [0.2, 0.9]]},
               {"type": "dense", "neurons": 1, "activation": "tanh", "weights": [[0.7, -0.5]], "biases": [0.0]}],
    "samples": [{"inputs": [[0.3, 0.1], [-0.2, 0.4], [0.5, -0.6]], "targets": [0.2, -0.1, 0.4]},
                {"inputs": [[-0.7, 0.2], [0.1, 0.3], [0.4, 0.8]], "targets": [0.1, 0.3, -0.2]}]}


def _client() -> TestClient:
    return TestClient(create_app(LayerNetwork.from_dict(SPEC)), base_url="http://127.0.0.1:8000")


def _panel(data: dict, kind: str, start: str) -> dict:
    return next(p for p in data["panels"] if p["kind"] == kind and p["title"].startswith(start))


def test_time_steps_are_columns_and_the_states_are_the_recurrence() -> None:
    data = _client().get("/api/sequence?sample=2").json()
    assert data["samples"] == 2 and data["sample"] == 2
    rnn = _panel(data, "steps", "rnn h1")
    assert rnn["columns"] == ["t0", "t1", "t2", "t3"]
    x = np.array(SPEC["samples"][1]["inputs"])
    wx, wh, b = (np.array(SPEC["layers"][1][k]) for k in ("weights_x", "weights_h", "biases"))
    h = np.zeros(2)
    expected = [h]
    for t in range(3):
        h = np.tanh(wx @ x[t] + wh @ h + b)
        expected.append(h)
    for j in range(2):
        row = next(r for r in rnn["rows"] if r["label"] == f"h1[{j + 1}]")
        assert [c["name"] for c in row["cells"]] == [f"h1_t{t}[{j + 1}][2]" for t in range(4)]
        assert [c["value"] for c in row["cells"]] == pytest.approx([e[j] for e in expected], abs=1e-15)


def test_each_bptt_row_is_one_term_per_step_then_their_sum_torch_agrees() -> None:
    torch = pytest.importorskip("torch")
    data = _client().get("/api/sequence?sample=1").json()
    plan = _panel(data, "steps", "BPTT")
    assert plan["columns"] == ["t1", "t2", "t3", "sum"]
    row = next(r for r in plan["rows"] if r["label"] == "Wh1[1,2]")
    *terms, total = row["cells"]
    assert terms[0]["name"] == "dE_total[1]/dnet_h1_t1[1][1] · h1_t0[2][1]" and terms[0]["value"] == 0.0  # h0 = 0
    assert sum(t["value"] for t in terms) == pytest.approx(total["value"], rel=1e-12)
    # sample 1's own gradient, by autograd on the same network written in torch
    import stepgrad

    net = LayerNetwork.from_dict(SPEC)
    model = stepgrad.to_torch(net)
    x = torch.tensor(net.inputs[:1])
    out = model(x).flatten(1)
    (0.5 * (out - torch.tensor(net.targets[:1])) ** 2).sum().div(3).backward()
    assert total["value"] == pytest.approx(model[0].rnn.weight_hh_l0.grad[0, 1].item(), rel=1e-9)


def test_attention_weights_are_a_heat_map_with_the_masked_keys_marked() -> None:
    data = _client().get("/api/sequence?sample=1").json()
    weights = _panel(data, "heatmap", "attention a1: weights")
    assert weights["rows"] == ["query 1", "query 2", "query 3"] and weights["columns"] == ["key 1", "key 2", "key 3"]
    assert weights["cells"][0][1] is None and weights["cells"][1][2] is None  # causal: no key after the query
    scores = _panel(data, "heatmap", "attention a1: scores")
    for i in range(3):
        row = [c for c in scores["cells"][i] if c is not None]
        e = [math.exp(c["value"]) for c in row]
        got = [c["value"] for c in weights["cells"][i] if c is not None]
        assert got == pytest.approx([v / sum(e) for v in e], rel=1e-12)  # softmax over the keys, computed here


def test_bad_requests_are_one_line_and_a_dense_server_has_no_sequence_page() -> None:
    client = _client()
    for query, field in (("sample=3", "sample"), ("sample=x", "sample")):
        answer = client.get(f"/api/sequence?{query}")
        assert answer.status_code == 422 and answer.json()["field"] == field and "\n" not in answer.json()["error"]
    dense = TestClient(create_app(), base_url="http://127.0.0.1:8000")
    assert dense.get("/api/sequence").status_code == 404
    assert "sequence.js" not in dense.get("/").text
    assert "sequence.js" in client.get("/").text
    assert client.get("/api/network").json()["spec"]["layers"] == [2, 2, 2]  # the dense API stays the seed deck's


SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
OVERFLOW_JS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.mark.browser
@pytest.mark.parametrize("size", SIZES)
def test_the_page_fits_and_shows_the_heat_map_with_values(browser, artifacts, size) -> None:
    pytest.importorskip("uvicorn")
    from tests.test_web_server import running_server

    width, height = SIZES[size]
    with running_server(LayerNetwork.from_dict(SPEC)) as url:
        page = browser.new_page(viewport={"width": width, "height": height}, has_touch=size == "phone",
                                is_mobile=size == "phone")
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        try:
            page.goto(url)
            page.wait_for_selector("body[data-ready=true]")
            heat = page.locator('table.heat[data-which="a"]')
            assert heat.locator("td.masked").count() == 3
            cell = heat.locator('td[data-name="a_a1[3,1][1]"]')
            assert cell.inner_text() and 0 < float(cell.inner_text()) < 1  # the value is written in the cell
            assert cell.evaluate("td => getComputedStyle(td).backgroundColor") != "rgba(0, 0, 0, 0)"
            headers = page.locator('section[data-kind="steps"] >> nth=1').locator("thead th")
            assert headers.all_inner_texts() == ["quantity", "t0", "t1", "t2", "t3"]
            assert page.evaluate(OVERFLOW_JS) <= 0  # wide grids scroll inside their panel, the page does not
            page.select_option("#sample", "2")
            page.wait_for_selector('td[data-name="a_a1[3,1][2]"]')
            page.screenshot(path=str(artifacts / f"sequence-serve-{size}.png"), full_page=True)
        finally:
            page.close()
    assert not problems, problems


def test_serve_refuses_a_convolutional_network_in_one_line(tmp_path) -> None:
    pytest.importorskip("uvicorn")
    from stepgrad.api.interop import serve_explorer
    from stepgrad.core.errors import StepgradError

    spec = tmp_path / "conv.toml"
    spec.write_text('[[layers]]\ntype = "input"\nshape = [1, 3, 3]\n\n[[layers]]\ntype = "conv2d"\nout_channels = 1\n'
                    'kernel = 2\n')
    with pytest.raises(StepgradError, match="the explorer shows dense networks and sequence models") as info:
        serve_explorer(str(spec))
    assert "\n" not in str(info.value)
