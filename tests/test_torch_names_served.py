"""A network that came from PyTorch keeps its torch names: the spec's [torch] table (written by `stepgrad import`
and `stepgrad.from_torch`, kept on save) makes every explanation of it (`stepgrad explain`, `stepgrad serve`) name
each weight as torch does. Each name is checked against torch's own state_dict: the entry it names holds the value
stepgrad shows. `stepgrad import --dtype float32` makes the spec's steps float32 ones, as PyTorch computes them."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import stepgrad
from stepgrad.api import ImportOptions, import_torch
from stepgrad.core.errors import SpecError
from stepgrad.core.names import updated

torch = pytest.importorskip("torch")
nn = torch.nn


class Net(nn.Module):
    """As people write it: named layers, functional activations."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(2, 3)
        self.out = nn.Linear(3, 2)

    def forward(self, x):
        return torch.sigmoid(self.out(torch.tanh(self.fc1(x))))


def _model() -> Net:
    torch.manual_seed(3)
    return Net().double()


def _entry(state: dict, torch_name: str) -> float:
    """The number torch's state_dict holds at "fc1.weight[0, 1]"."""
    key, _, index = torch_name.partition("[")
    at = tuple(int(i) for i in index.rstrip("]").split(","))
    return float(state[key][at])


def _spec(tmp_path) -> tuple[Net, str]:
    model = _model()
    net = stepgrad.from_torch(model, inputs=[[0.1, -0.4]], targets=[[0.2, 0.7]], update_biases=True)
    path = tmp_path / "net.toml"
    stepgrad.save(net, path)
    return model, str(path)


def test_a_saved_network_from_torch_names_every_weight_by_torchs_state_dict(tmp_path):
    model, path = _spec(tmp_path)
    trace = stepgrad.explain(stepgrad.load(path))
    names = trace.meta["torch"]["names"]
    state = model.state_dict()
    assert len(names) == sum(p.numel() for p in model.parameters())
    for ours, theirs in names.items():
        assert trace.values[ours] == _entry(state, theirs), (ours, theirs)
    assert trace.step("w2").note == "PyTorch: fc1.weight[0, 1]"
    assert "In PyTorch (Net): w1..w6 = fc1.weight[0, 0]..[2, 1]" in trace.section("given").intro


@pytest.mark.slow  # the web app and torch: make test (CI)
def test_the_explorer_answers_with_torchs_names_and_drops_them_when_they_no_longer_fit(tmp_path):
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from stepgrad.web.app import create_app

    model, path = _spec(tmp_path)
    client = TestClient(create_app(stepgrad.load(path)), base_url="http://127.0.0.1:8000")
    spec = client.get("/api/network").json()["spec"]
    assert spec["torch"]["modules"] == ["fc1", "out"]
    answer = client.post("/api/explain", json={"spec": spec}).json()
    assert answer["meta"]["torch"]["names"]["w10"] == "out.weight[1, 0]"
    assert answer["values"]["w10"] == float(model.out.weight[1, 0].detach())
    assert "(PyTorch: out.weight[1, 0])" in answer["diagrams"][-1]["svg"]
    given = next(s for s in answer["sections"] if s["key"] == "given")
    assert any(s["name"] == "b_h2" and s["note"] == "PyTorch: fc1.bias[1]" for s in given["steps"])
    # a bias=False layer whose bias the page set to 0.3 is not that model any more: no names, never wrong ones
    spec["torch"]["bias"] = [True, False]
    spec["update_biases"] = False
    spec["biases"][1] = [0.3, 0.0]
    assert "torch" not in client.post("/api/explain", json={"spec": spec}).json()["meta"]
    spec["biases"][1], spec["torch"]["bias"] = [0.0, 0.0], [True, True]
    spec["layers"], spec["weights"] = [2, 4, 2], [[[0.1, 0.2]] * 4, [[0.1] * 4] * 2]  # other widths: not that model
    spec["biases"][0] = [0.0] * 4
    assert "torch" not in client.post("/api/explain", json={"spec": spec}).json()["meta"]
    spec["torch"]["modules"] = ["fc1"]  # one prefix for two layers: one clear line naming the key
    refused = client.post("/api/explain", json={"spec": spec})
    assert refused.status_code == 422 and refused.json()["field"] == "torch.modules"


@pytest.mark.parametrize("table, key", [("[1, 2]", "torch"), ('{modules = ["a"], extra = 1}', "torch.extra"),
                                         ('{modules = ["a"], dtype = "float16"}', "torch.dtype"),
                                         ('{modules = ["a b"]}', "torch.modules"),
                                         ('{modules = ["a"], bias = [1]}', "torch.bias"),
                                         ('{modules = ["a"], layers = [1]}', "torch.layers")])
def test_a_bad_torch_table_is_one_line_naming_the_key(table, key):
    with pytest.raises(SpecError) as caught:
        stepgrad.loads(f"layers = [1, 1]\ntorch = {table}\n")
    assert caught.value.where == f"<spec>: {key}"


@pytest.mark.slow  # torch steps: make test (CI)
def test_import_records_the_state_dicts_names_and_dtype_float32_computes_as_torch_does(tmp_path):
    torch.manual_seed(4)
    model = Net()  # float32, torch's default
    torch.save(model.state_dict(), tmp_path / "model.pt")
    like = tmp_path / "like.toml"
    like.write_text('layers = [2, 3, 2]\nactivations = ["tanh", "sigmoid"]\nupdate_biases = true\nlearning_rate = 0.5\n'
                    "[[samples]]\ninputs = [0.1, -0.4]\ntargets = [0.2, 0.7]\n")
    notes: list[str] = []
    text = import_torch(str(tmp_path / "model.pt"), options=ImportOptions(dtype="float32"), like=str(like),
                        note=notes.append)
    assert [n for n in notes if "float32" in n] == [
        "note: the spec computes in float32 ([torch] dtype), as PyTorch computes a float32 model: explain, serve "
        "and train use float32 arithmetic (--dtype float64 for every digit exact)"]
    trace = stepgrad.explain(stepgrad.loads(text))
    assert trace.meta["dtype"] == "float32" and trace.meta["torch"]["names"]["w7"] == "out.weight[0, 0]"
    # torch's own float32 step: one SGD step of stepgrad's loss (half the squared error, summed over outputs)
    twin = copy.deepcopy(model)
    opt = torch.optim.SGD(twin.parameters(), lr=0.5)
    x, t = torch.tensor([[0.1, -0.4]]), torch.tensor([[0.2, 0.7]])
    (0.5 * ((twin(x) - t) ** 2).sum()).backward()
    opt.step()
    state = twin.state_dict()
    for ours, theirs in trace.meta["torch"]["names"].items():
        new = trace.values[updated(ours)]
        assert new == float(np.float32(new))  # a float32 number
        assert abs(new - _entry(state, theirs)) <= 2 * np.spacing(np.float32(abs(new))), (ours, theirs)
    assert stepgrad.explain(stepgrad.loads(text), dtype="float64").meta.get("dtype", "float64") == "float64"
    notes.clear()
    plain = import_torch(str(tmp_path / "model.pt"), like=str(like), note=notes.append)
    assert "dtype" not in stepgrad.loads(plain).extra["torch"]
    assert any("the file's tensors are float32; the spec computes in float64" in n for n in notes)


@pytest.mark.slow  # a process: make test (CI)
def test_the_import_command_takes_dtype_and_serve_of_a_pt_file_says_to_import_it(tmp_path, cli):
    torch.save(_model().state_dict(), tmp_path / "model.pt")
    done = cli("import", str(tmp_path / "model.pt"), "--activation", "tanh,sigmoid", "--dtype", "float32",
               "-o", str(tmp_path / "net.toml"))
    assert done.returncode == 0, done.stderr
    assert 'dtype = "float32"' in (tmp_path / "net.toml").read_text()
    assert sum("float32" in line for line in done.stderr.splitlines()) == 1
    served = cli("serve", str(tmp_path / "model.pt"), "--port", "0")
    assert served.returncode == 2 and len(served.stderr.strip().splitlines()) == 1
    assert "a PyTorch file, not a spec: make it one with stepgrad import" in served.stderr


@pytest.mark.browser
def test_the_explorer_shows_a_torch_weights_torch_name(browser, tmp_path):
    pytest.importorskip("uvicorn")
    from playwright.sync_api import expect
    from tests.test_web_server import running_server

    model, path = _spec(tmp_path)
    with running_server(stepgrad.load(path)) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(20_000)
        expect.set_options(timeout=20_000)
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        item = page.locator('#values li:has(button[data-name="w2"])')
        expect(item).to_contain_text("fc1.weight[0, 1]")
        shown = float(item.inner_text().split("=")[1].split()[0])
        assert shown == pytest.approx(float(model.fc1.weight[0, 1].detach()), rel=1e-8)
        item.locator("button").click()
        expect(page.locator("#derivation-title")).to_contain_text("w2")
        expect(page.locator("#derivation")).to_contain_text("PyTorch: fc1.weight[0, 1]")
        assert "PyTorch: fc1.weight[0, 1]" in page.locator("#edit-w2").get_attribute("title")
        tip = page.locator("#diagram #edge-w2 title").first.text_content()
        assert "(PyTorch: fc1.weight[0, 1])" in tip
        # resizing the network in the editor: a different network, so no torch names (and no error)
        page.fill("#edit-layers", "2, 4, 2")
        page.locator("#edit-layers").press("Enter")
        expect(page.locator('#values button[data-name="w16"]')).to_be_visible()  # the 2-4-2's last weight
        expect(page.locator("#values")).not_to_contain_text("fc1.weight")
        assert not page.locator("#error").is_visible()
        page.close()
