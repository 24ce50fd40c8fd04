"""The explorer's JSON API (stepgrad.web), through Starlette's TestClient.

Figures are the seed deck's, typed in from the deck; other networks are checked against PyTorch
autograd. Every error path must answer 4xx JSON {"error", "field"}, never a 500 or a traceback.
"""

from __future__ import annotations

import json
import re
import tomllib
import warnings
import xml.etree.ElementTree as ET
from importlib import resources

import pytest

pytest.importorskip("starlette")
with warnings.catch_warnings():  # starlette 1.x suggests httpx2 for its TestClient; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from stepgrad.formats import FORMATS  # noqa: E402
from stepgrad.web import inputs  # noqa: E402
from stepgrad.web.app import create_app  # noqa: E402

# The deck's published figures ("Step by step Backpropagation"), as printed there.
OUT_O1 = "0.75136507"
DE_DW5 = "0.082167041"
W5_NEW = "0.35891648"
DE_DW1 = "0.000438568"
E_AFTER = {"synchronous": "0.291027774", "sequential": "0.291027924"}
TRAINED_SEQUENTIAL = {"out_o1": "0.015912196", "out_o2": "0.984065734"}
MATHML = "{http://www.w3.org/1998/Math/MathML}math"


def same(value: float, published: str) -> bool:
    """value, rounded to the significant digits the published figure shows, is that figure."""
    digits = len(published.replace("-", "").replace(".", "").lstrip("0"))
    return float(f"{value:.{digits}g}") == float(published)


JSON = {"content-type": "application/json"}  # what the page sends; anything else is refused (415)


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), raise_server_exceptions=False, base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.fixture(scope="module")
def seed(client) -> dict:
    return client.get("/api/network").json()["spec"]


def error_of(response, status: int) -> dict:
    """The JSON error of a refused request, checked for shape and status."""
    assert response.status_code == status, response.text
    data = response.json()
    assert set(data) == {"error", "field"} and isinstance(data["error"], str) and data["error"]
    assert "Traceback" not in data["error"]
    return data


def steps(sections: list[dict]) -> dict[str, dict]:
    return {s["name"]: s for sec in sections for s in sec["steps"]}


def mathml_numbers(mathml: str) -> list[str]:
    root = ET.fromstring(mathml)
    assert root.tag == MATHML
    return [n.text for n in root.iter("{http://www.w3.org/1998/Math/MathML}mn")]


# ------------------------------------------------------------------------------------------------
# the page and its files


def test_page_and_static_files_are_served_offline(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    # nothing fetched from anywhere else: every src/href is local
    for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert url.startswith(("/static/", "data:")), url
    for name in ("app.js", "api.js", "editor.js", "curve.js", "stages.js", "steps.js"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and "javascript" in r.headers["content-type"], name
        assert "http://" not in r.text.replace("http://www.w3.org", "") and "https://" not in r.text
    assert client.get("/static/app.css").status_code == 200


def test_static_files_ship_with_the_package():
    static = resources.files("stepgrad.web") / "static"
    for name in ("index.html", "app.css", "app.js", "api.js", "editor.js", "curve.js", "stages.js", "steps.js"):
        assert (static / name).is_file(), name
    # every module the page imports exists
    for name in ("app.js", "editor.js"):
        for imported in re.findall(r'from "\./([\w.]+)"', (static / name).read_text()):
            assert (static / imported).is_file(), imported


# ------------------------------------------------------------------------------------------------
# GET /api/network


def test_network_is_the_seed_deck(client):
    data = client.get("/api/network").json()
    spec = data["spec"]
    assert spec["layers"] == [2, 2, 2]
    assert spec["weights"] == [[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]]
    assert spec["samples"] == [{"inputs": [0.05, 0.1], "targets": [0.01, 0.99]}]
    assert "mazur" in data["builtins"] and {"toml", "json"} <= set(data["formats"])
    assert "sigmoid" in data["activations"] and "half_squared_error" in data["losses"]
    assert data["limits"]["weights"] == 10_000 and data["limits"]["iterations"] == 100_000
    assert client.get("/api/network?builtin=mazur").json()["spec"] == spec
    err = error_of(client.get("/api/network?builtin=../../etc/passwd"), 404)
    assert err["field"] == "builtin"


def test_served_spec_is_the_default(seed):
    from stepgrad.core.spec import Network

    spec = dict(seed, learning_rate=0.25)
    with TestClient(create_app(Network.from_dict(spec)), base_url="http://127.0.0.1:8000") as c:
        assert c.get("/api/network").json()["spec"]["learning_rate"] == 0.25
        assert c.post("/api/explain", json={}).json()["values"]["eta"] == 0.25


# ------------------------------------------------------------------------------------------------
# POST /api/explain


def test_explain_reproduces_the_deck(client, seed):
    r = client.post("/api/explain", json={"spec": seed, "only": ["w5"]})
    assert r.status_code == 200
    data = r.json()
    v = data["values"]
    assert same(v["out_o1"], OUT_O1)
    assert same(v["dE_total/dw5"], DE_DW5)
    assert same(v["w5+"], W5_NEW)
    assert same(v["dE_total/dw1"], DE_DW1)
    for order, figure in E_AFTER.items():  # both update orders, as the deck reports both
        assert same(data["compare"][order], figure), order
    # w5's derivation: formula and numbers as MathML, the value printed in it
    w5 = steps(data["selected"]["sections"])
    grad = w5["dE_total/dw5"]
    assert grad["kind"] == "gradient" and grad["subject"] == "w5"
    assert ET.fromstring(grad["formula"]).tag == MATHML
    numbers = mathml_numbers(grad["substituted"])
    assert any(same(float(n), DE_DW5) for n in numbers)
    assert any(same(float(n), "0.593269992") for n in numbers)  # out_h1, the deck's factor
    assert any(same(float(n), W5_NEW) for n in mathml_numbers(w5["w5+"]["substituted"]))
    assert DE_DW5 in grad["text"].replace("0.0821670406", "0.082167041") or same(float(grad["text"].split()[-1]), DE_DW5)


def test_explain_draws_the_diagram(client):
    names = ["i1", "i2", "h1", "h2", "o1", "o2"] + [f"w{k}" for k in range(1, 9)]
    for show, w5 in (("weights", "0.4"), ("gradients", DE_DW5), ("updated", W5_NEW)):
        svg = ET.fromstring(client.post("/api/explain", json={"show": show}).json()["diagrams"][-1]["svg"])
        assert svg.tag == "{http://www.w3.org/2000/svg}svg"
        drawn = {e.get("data-name") for e in svg.iter() if e.get("data-name")}
        assert set(names) <= drawn, show
        edge = next(e for e in svg.iter("{http://www.w3.org/2000/svg}line") if e.get("data-name") == "w5")
        assert same(float(edge.get("data-value")), w5), show


def test_hidden_weight_shows_every_path(client):
    data = client.post("/api/explain", json={"only": ["w1"]}).json()
    grad = steps(data["selected"]["sections"])["dE_total/dw1"]
    assert grad["path_count"] == 2 and len(grad["paths"]) == 2
    assert {p["factors"][0] for p in grad["paths"]} == {"dE_o1/dnet_o1", "dE_o2/dnet_o2"}
    assert same(sum(p["value"] for p in grad["paths"]), DE_DW1)
    for p in grad["paths"]:
        assert ET.fromstring(p["mathml"]).tag == MATHML


def test_explain_neurons_and_error(client):
    data = client.post("/api/explain", json={"only": ["h1"]}).json()
    names = steps(data["selected"]["sections"])
    assert {"net_h1", "out_h1"} <= set(names)
    assert same(names["out_h1"]["value"], "0.593269992")
    data = client.post("/api/explain", json={"only": ["error"]}).json()
    names = steps(data["selected"]["sections"])
    assert {"E_total", "E_o1", "E_o2"} <= set(names)
    assert same(names["E_total"]["value"], "0.298371109")


def test_explain_sequential_order(client, seed):
    data = client.post("/api/explain", json={"spec": seed, "update_order": "sequential"}).json()
    assert data["update_order"] == "sequential"
    assert same(data["values"]["E_total+"], E_AFTER["sequential"])
    assert [s["key"] for s in data["sections"]][3:6] == ["backward_2", "update_2", "backward_1"]


def test_explain_every_step_has_mathml_and_the_digits_asked(client):
    data = client.post("/api/explain", json={"digits": 4}).json()
    assert data["math"] is True and data["digits"] == 4
    for sec in data["sections"]:
        for step in sec["steps"]:
            ET.fromstring(step["formula"])
            if "substituted" in step:
                ET.fromstring(step["substituted"])
    out = steps(data["sections"])["out_o1"]
    assert out["shown"] == "0.7514"


def test_explain_math_for_some_sections(client):
    data = client.post("/api/explain", json={"math_for": ["forward"], "only": ["w5"]}).json()
    with_math = {sec["key"] for sec in data["sections"] if any("formula" in s for s in sec["steps"])}
    assert with_math == {"forward"}
    assert all("formula" in s for s in steps(data["selected"]["sections"]).values())
    assert all(isinstance(s["shown"], str) for sec in data["sections"] for s in sec["steps"])


def test_largest_network_allowed_is_answered(client):
    spec = {"layers": [100, 99, 1], "samples": [{"inputs": [0.1] * 100, "targets": [0.5]}]}  # 9,999 weights
    data = client.post("/api/explain", json={"spec": spec, "math_for": [], "only": ["w5"]}).json()
    assert data["math"] is False and data["diagrams"][-1]["svg"].startswith("<svg")
    assert len(data["values"]) > 3 * 9_999 and "formula" in steps(data["selected"]["sections"])["dE_total/dw5"]
    trained = client.post("/api/train", json={"spec": spec, "iterations": 20}).json()
    assert trained["history"][-1]["E_total"] < trained["history"][0]["E_total"]


def test_explain_accepts_toml_and_json_text(client, seed):
    text = (resources.files("stepgrad.examples") / "mazur.toml").read_text()
    data = client.post("/api/explain", json={"spec": text, "spec_format": "toml"}).json()
    assert same(data["values"]["out_o1"], OUT_O1) and data["spec"]["layers"] == [2, 2, 2]
    data = client.post("/api/explain", json={"spec": json.dumps(seed), "spec_format": "json"}).json()
    assert same(data["values"]["dE_total/dw5"], DE_DW5)


def test_explain_other_networks_match_pytorch_autograd(client):
    torch = pytest.importorskip("torch")
    spec = {
        "layers": [3, 4, 2], "activations": ["tanh", "sigmoid"], "loss": "half_squared_error",
        "learning_rate": 0.1,
        "weights": [[[0.1, -0.2, 0.3], [0.4, 0.5, -0.6], [-0.7, 0.8, 0.9], [0.15, -0.25, 0.35]],
                    [[0.2, -0.1, 0.4, 0.3], [-0.5, 0.6, 0.1, -0.2]]],
        "biases": [0.1, [0.2, -0.3]],
        "samples": [{"inputs": [0.5, -1.0, 2.0], "targets": [0.2, 0.7]}],
    }
    data = client.post("/api/explain", json={"spec": spec}).json()
    w1 = torch.tensor(spec["weights"][0], dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor(spec["weights"][1], dtype=torch.float64, requires_grad=True)
    x = torch.tensor(spec["samples"][0]["inputs"], dtype=torch.float64)
    t = torch.tensor(spec["samples"][0]["targets"], dtype=torch.float64)
    out = torch.sigmoid(w2 @ torch.tanh(w1 @ x + 0.1) + torch.tensor([0.2, -0.3], dtype=torch.float64))
    loss = 0.5 * ((t - out) ** 2).sum()
    loss.backward()
    grads = torch.cat([w1.grad.flatten(), w2.grad.flatten()]).tolist()
    assert data["values"]["E_total"] == pytest.approx(loss.item(), rel=1e-12)
    for k, g in enumerate(grads, start=1):
        assert data["values"][f"dE_total/dw{k}"] == pytest.approx(g, rel=1e-9, abs=1e-15), f"w{k}"


# ------------------------------------------------------------------------------------------------
# POST /api/train


def test_train_reproduces_the_deck(client, seed):
    data = client.post("/api/train", json={"spec": seed, "iterations": 10_000, "update_order": "sequential",
                                          "every": 100}).json()
    for name, figure in TRAINED_SEQUENTIAL.items():
        assert same(data["values"][name], figure), name
    history = data["history"]
    assert history[0]["iteration"] == 0 and same(history[0]["E_total"], "0.298371109")
    assert history[-1]["iteration"] == 10_000 and len(history) == 101
    assert all(a["E_total"] > b["E_total"] for a, b in zip(history, history[1:]))
    assert data["spec"]["training"]["iterations"] == 10_000


def test_train_one_iteration_is_the_update_and_resumes(client, seed):
    data = client.post("/api/train", json={"spec": seed, "iterations": 1}).json()
    assert same(data["spec"]["weights"][1][0][0], W5_NEW)
    assert same(data["spec"]["weights"][0][0][0], "0.149780716")
    assert same(data["final_error"], E_AFTER["synchronous"])
    again = client.post("/api/train", json={"spec": data["spec"], "iterations": 2}).json()
    assert again["start"] == 1 and again["history"][-1]["iteration"] == 3


def test_train_in_chunks_equals_one_run(client, seed):
    whole = client.post("/api/train", json={"spec": seed, "iterations": 300}).json()
    spec = seed
    for _ in range(3):
        spec = client.post("/api/train", json={"spec": spec, "iterations": 100}).json()["spec"]
    # the same arithmetic; the library may take a compiled path for long runs (last-bit differences)
    flat = lambda ws: [x for layer in ws for row in layer for x in row]  # noqa: E731
    assert flat(spec["weights"]) == pytest.approx(flat(whole["spec"]["weights"]), rel=1e-12)


# ------------------------------------------------------------------------------------------------
# POST /api/export


def test_export_spec_round_trips(client, seed):
    from stepgrad.core.spec import Network

    trained = client.post("/api/train", json={"spec": seed, "iterations": 5}).json()["spec"]
    for fmt, parse in (("toml", tomllib.loads), ("json", json.loads)):
        r = client.post("/api/export", json={"spec": trained, "format": fmt})
        assert r.status_code == 200
        assert r.headers["content-disposition"] == f'attachment; filename="network.{fmt}"'
        again = Network.from_dict(parse(r.text))
        assert [w.tolist() for w in again.weights] == trained["weights"]


@pytest.mark.parametrize("fmt", ["markdown", "latex", "html", "text", "trace"])
def test_export_documents(client, seed, fmt):
    renderer = {"trace": "json"}.get(fmt, fmt)
    r = client.post("/api/export", json={"spec": seed, "format": fmt, "only": ["w5"]})
    import importlib.util

    if importlib.util.find_spec(FORMATS[renderer]) is None:
        err = error_of(r, 422)
        assert err["field"] == "format" and "not available" in err["error"]
        return
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    numbers = re.findall(r"\d+\.\d+", r.text)
    assert any(same(float(n), DE_DW5) for n in numbers), fmt


# ------------------------------------------------------------------------------------------------
# errors: always 4xx JSON naming the field


def test_bad_json_and_bodies(client):
    assert error_of(client.post("/api/explain", content=b"{bad", headers=JSON), 400)["field"] is None
    assert "JSON" in error_of(client.post("/api/train", content=b"", headers=JSON), 400)["error"]
    assert "object" in error_of(client.post("/api/explain", json=[1, 2]), 400)["error"]
    assert error_of(client.post("/api/explain", content=b"\xff\xfe", headers=JSON), 400)
    nan = b'{"spec": {"layers": [2, 2], "weights": [[[NaN, 1], [1, 1]]]}}'
    assert "NaN" in error_of(client.post("/api/explain", content=nan, headers=JSON), 400)["error"]
    inf = b'{"spec": {"layers": [2, 2]}, "digits": Infinity}'
    assert "Infinity" in error_of(client.post("/api/explain", content=inf, headers=JSON), 400)["error"]


def test_body_too_large(client):
    big = b'{"spec": "' + b"#" * (inputs.MAX_BODY + 10) + b'"}'
    assert "too large" in error_of(client.post("/api/explain", content=big, headers=JSON), 413)["error"]

    def chunks():  # no content-length: the limit holds while reading
        for _ in range(inputs.MAX_BODY // 10_000 + 5):
            yield b" " * 10_000

    assert "too large" in error_of(client.post("/api/explain", content=chunks(), headers=JSON), 413)["error"]


@pytest.mark.parametrize("change, field, words", [
    ({"activation": "sigmod"}, "activation", "did you mean 'sigmoid'"),
    ({"loss": "cross_entropi"}, "loss", "did you mean 'cross_entropy'"),
    ({"weights": [[[0.15, 0.2], [0.25]], [[0.4, 0.45], [0.5, 0.55]]]}, "weights[0][1]", "expected 2 numbers"),
    ({"weights": [[[0.15, 0.2], [0.25, 0.3]]]}, "weights", "expected 2 matrices"),
    ({"weights": [[[0.15, "x"], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]]}, "weights[0][0][1]", "expected a number"),
    ({"layers": [2, 0, 2]}, "layers", "positive integers"),
    ({"layers": "2,2,2"}, "layers", "positive integers"),
    ({"learning_rate": -1}, "learning_rate", "positive"),
    ({"samples": [{"inputs": [0.05], "targets": [0.01, 0.99]}]}, "samples[0].inputs", "expected 2 numbers"),
    ({"samples": []}, "samples", "non-empty"),
    ({"biases": [0.35]}, "biases", "expected 2 entries"),
    ({"colour": "red"}, "colour", "unknown key"),
    ({"layers": [200, 51, 2]}, "layers", "limit is 10000"),
    ({"layers": [1] * 40}, "layers", "too many layers"),
])
def test_invalid_specs_name_the_field(client, seed, change, field, words):
    spec = dict(seed, **change)
    for endpoint, extra in (("/api/explain", {}), ("/api/train", {"iterations": 1}),
                            ("/api/export", {"format": "toml"})):
        err = error_of(client.post(endpoint, json={"spec": spec, **extra}), 422)
        assert err["field"] == field, (endpoint, err)
        assert words in err["error"], (endpoint, err)


def test_spec_text_errors(client):
    err = error_of(client.post("/api/explain", json={"spec": "layers = [2, 2\n", "spec_format": "toml"}), 422)
    assert "not valid TOML" in err["error"]
    err = error_of(client.post("/api/explain", json={"spec": "{\"layers\": [2, 2]", "spec_format": "json"}), 422)
    assert "not valid JSON" in err["error"]
    assert error_of(client.post("/api/explain", json={"spec": "x", "spec_format": "yaml"}), 422)["field"] == "spec_format"
    assert error_of(client.post("/api/explain", json={"spec": 42}), 422)["field"] == "spec"
    err = error_of(client.post("/api/explain", json={"spec": {"layers": [2, 2]}}), 422)
    assert err["field"] == "samples" and "no samples" in err["error"]


@pytest.mark.parametrize("endpoint, body, field, words", [
    ("/api/train", {"iterations": 100_001}, "iterations", "100,000"),
    ("/api/train", {"iterations": -1}, "iterations", "between"),
    ("/api/train", {"iterations": 1.5}, "iterations", "integer"),
    ("/api/train", {"iterations": True}, "iterations", "integer"),
    ("/api/train", {"iterations": 10, "every": 0}, "every", "between"),
    ("/api/train", {"iterations": 1, "update_order": "random"}, "update_order", "synchronous"),
    ("/api/explain", {"update_order": "backwards"}, "update_order", "sequential"),
    ("/api/explain", {"digits": 40}, "digits", "between"),
    ("/api/explain", {"only": ["w99"]}, "only", "'w99'"),
    ("/api/explain", {"only": [1, 2]}, "only", "quantity names"),
    ("/api/explain", {"only": ["w"] * 60}, "only", "at most"),
    ("/api/explain", {"show": "everything"}, "show", "gradients"),
    ("/api/explain", {"math_for": "forward"}, "math_for", "section keys"),
    ("/api/export", {"format": "pdf"}, "format", "markdown"),
    ("/api/export", {}, "format", "toml"),
    ("/api/export", {"format": "text", "only": ["zz"]}, "only", "'zz'"),
])
def test_bad_options_name_the_field(client, endpoint, body, field, words):
    err = error_of(client.post(endpoint, json=body), 422)
    assert err["field"] == field and words in err["error"], err


def test_divergence_is_a_clear_4xx(client, seed):
    spec = dict(seed, learning_rate=1e308, activation="linear")
    err = error_of(client.post("/api/train", json={"spec": spec, "iterations": 50}), 422)
    assert "diverged" in err["error"] or "not a finite number" in err["error"]
    err = error_of(client.post("/api/explain", json={"spec": dict(spec, learning_rate=1e308,
                                                                       weights=[[[1e300, 1e300], [1, 1]], [[1e300, 1], [1, 1]]])}), 422)
    assert "not a finite number" in err["error"]


def test_unknown_routes_and_methods_are_json(client):
    assert error_of(client.get("/api/nothing"), 404)
    assert error_of(client.get("/api/explain"), 405)
    assert client.get("/static/../pyproject.toml").status_code == 404


def test_never_a_500(client, seed):
    """A pile of odd requests: each one answered 2xx or 4xx, always JSON with an error line."""
    odd = [
        {"spec": {}}, {"spec": None, "only": "w5"}, {"spec": {"layers": []}}, {"spec": {"layers": [2]}},
        {"spec": dict(seed, samples=[{"inputs": [1, 2]}])}, {"spec": dict(seed, samples=[3])},
        {"spec": dict(seed, biases=[[1, 2, 3], 0.6])}, {"spec": dict(seed, activations="sigmoid")},
        {"spec": dict(seed, training={"iterations": "many"})}, {"spec": dict(seed, format_version=99)},
        {"spec": dict(seed, layers=[2, 2, True])}, {"spec": dict(seed, update_order=5)},
        {"spec": dict(seed, name=["x"])}, {"spec": dict(seed, seed="a")}, {"iterations": None},
        {"spec": dict(seed, layers=[10**12, 10**12])}, {"spec": "\x00", "spec_format": "toml"},
    ]
    for body in odd:
        for endpoint in ("/api/explain", "/api/train", "/api/export"):
            r = client.post(endpoint, json=dict(body, format="json") if endpoint.endswith("export") else body)
            assert r.status_code < 500, (endpoint, body, r.text)
            if r.status_code >= 400:
                error_of(r, r.status_code)


# ------------------------------------------------------------------------------------------------
# the serve command


def test_serve_command_warns_off_loopback(monkeypatch):
    import uvicorn
    from click.testing import CliRunner

    from stepgrad.cli import serve

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    runner = CliRunner()
    quiet = runner.invoke(serve.command, ["--port", "8123"])
    assert quiet.exit_code == 0 and calls[-1] == {"host": "127.0.0.1", "port": 8123, "log_level": "warning"}
    assert "warning" not in quiet.output
    loud = runner.invoke(serve.command, ["--host", "0.0.0.0"])
    assert loud.exit_code == 0 and calls[-1]["host"] == "0.0.0.0"
    assert "warning: listening on 0.0.0.0, not loopback" in loud.output
    assert serve.is_loopback("127.0.0.1") and serve.is_loopback("::1") and serve.is_loopback("localhost")
    assert not serve.is_loopback("0.0.0.0") and not serve.is_loopback("192.168.1.2") and not serve.is_loopback("example")


def test_serve_is_a_documented_command(cli):
    r = cli("serve", "--help")
    assert r.returncode == 0 and "--host" in r.stdout and "127.0.0.1" in r.stdout and "stepgrad serve --open" in r.stdout
    r = cli("serve", "missing-file.toml")
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr


def test_explain_by_weight_with_derivations(client):
    r = client.post("/api/explain", json={"group": "weight", "derive": True})
    assert r.status_code == 200
    keys = [s["key"] for s in r.json()["sections"]]
    assert keys[3:5] == ["weight_w5", "weight_w6"]
    r = client.post("/api/export", json={"format": "trace", "group": "weight", "derive": True})
    steps = {s["name"]: s for sec in json.loads(r.text)["sections"] for s in sec["steps"]}
    assert steps["dnet_o1/dw5"]["derivation"][0]["text"] == "1 * «out_h1» * «w5»^(1-1) + 0 + 0"
    assert client.post("/api/explain", json={"group": "neuron"}).json()["field"] == "group"
    assert client.post("/api/explain", json={"derive": "yes"}).json()["field"] == "derive"
