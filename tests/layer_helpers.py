"""Helpers shared by the layer-table tests (conv and sequence networks) and benchmarks/cnn.py: the digits CNN and
its PyTorch reference training, finite differences of a layer's net, and the LaTeX/phone checks of their pages.

Each helper is a reference or a check written once; the tests that use it still compare stepgrad's own values
against it (PyTorch, finite differences, pdflatex's log, the browser's layout), never against stepgrad's output.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

# conv2d (1 -> 4 channels, 3x3, ReLU) + 2x2 max-pool + dense softmax on the 8x8 digits as 1x8x8 images
DIGITS_CNN: dict[str, Any] = {
    "layers": [{"type": "input", "shape": [1, 8, 8]},
               {"type": "conv2d", "out_channels": 4, "kernel": 3, "activation": "relu"},
               {"type": "maxpool", "kernel": 2},
               {"type": "flatten"},
               {"type": "dense", "neurons": 10, "activation": "softmax"}],
    "loss": "cross_entropy", "learning_rate": 0.5, "update_biases": True, "seed": 0, "init": "he"}


def digits_cnn_torch(net: Any) -> Any:
    """DIGITS_CNN written by hand as an nn.Sequential (float64) holding `net`'s starting kernel, weights and biases."""
    import torch

    conv, dense = net.layers[0], net.layers[3]
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, dtype=torch.float64), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                torch.nn.Flatten(), torch.nn.Linear(36, 10, dtype=torch.float64))
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(conv.params["kernel"]))
        model[0].bias.copy_(torch.from_numpy(conv.params["bias"]))
        model[4].weight.copy_(torch.from_numpy(dense.params["weight"]))
        model[4].bias.copy_(torch.from_numpy(dense.params["bias"]))
    return model


def torch_cross_entropy_epochs(model: Any, optimizer: Any, data: Any, epochs: int, batch: int) -> None:
    """Train `model` with `optimizer` (autograd, torch.optim's step) on softmax cross-entropy, batch mean, over the
    batches stepgrad's trainer draws (training.loop.epoch_order with seed 0), epochs 1..`epochs`."""
    import torch

    from stepgrad.training.loop import epoch_order

    x, t = torch.from_numpy(data.inputs), torch.from_numpy(data.targets)
    for epoch in range(1, epochs + 1):
        order = torch.from_numpy(epoch_order(0, epoch, len(data)))
        for start in range(0, len(order), batch):
            rows = order[start:start + batch]
            optimizer.zero_grad()
            loss = -(t[rows] * torch.log_softmax(model(x[rows]), dim=1)).sum(dim=1).mean()
            loss.backward()
            optimizer.step()


def assert_close_parameters(ours: np.ndarray, theirs: Any, what: object = "", rel: float = 1e-9) -> None:
    """Every entry of `ours` within `rel` of PyTorch's tensor (relative, floored at 1e-6)."""
    theirs = theirs.detach().numpy()
    assert np.all(np.abs(ours - theirs) <= rel * np.maximum(np.abs(theirs), 1e-6)), what


# ------------------------------------------------------------------------------------------------
# finite differences inside a layer-table network


def parameter_key(net: Any, name: str) -> tuple:
    """(layer label, role, index) of the parameter entry `net` names `name` (w_d1[1,2], k1[1,1,2,3], ...)."""
    for layer in net.all_layers():
        for role, value in layer.params.items():
            for index in np.ndindex(*value.shape):
                if layer.parameter_name(role, tuple(i + 1 for i in index)) == name:
                    return layer.label, role, index
    raise AssertionError(f"no parameter named {name}")


def factor_by_differences(net: Any, n: Any, step: float) -> float:
    """dnet/dparameter (the trace's factor name `n`, e.g. dnet_c1[1,2,2]/dk1[1,1,1,2]) by central differences: the
    parameter nudged by +-`step`, that net watched (in sample 1 when the name has no sample)."""
    from stepgrad.core.layers import engine

    label, role, index = parameter_key(net, str(n.bottom))
    params = {(layer.label, r): v for layer in net.all_layers() for r, v in layer.params.items()}
    found = []
    for sign in (1, -1):
        moved = dict(params)
        moved[(label, role)] = params[(label, role)].copy()
        moved[(label, role)][index] += sign * step
        fwd = engine.forward(net, net.inputs, net.targets, params=moved)
        s = 0 if n.sample is None else n.sample - 1
        found.append(fwd.values[str(n.top.neuron)].net[(s, *(p - 1 for p in n.top.position))])
    return float((found[0] - found[1]) / (2 * step))


# ------------------------------------------------------------------------------------------------
# documents: pdflatex and a phone's width

# pdflatex's "Overfull \hbox (12.3pt too wide)": 10pt and more, or 3pt to 9.99pt, fail
OVERFULL_3PT = re.compile(r"Overfull \\hbox \((\d{2,}|[3-9])\.")


def write_spec(folder: Path, name: str, spec: dict[str, Any]) -> str:
    """The path of `spec` written as folder/name.json."""
    path = folder / f"{name}.json"
    path.write_text(json.dumps(spec))
    return str(path)


def assert_compiles_without_overfull_lines(folder: Path, source: str, name: str) -> None:
    """pdflatex compiles `source` (as folder/name.tex) and its log has no line overfull by 3pt or more."""
    from conftest import require_tool

    pdflatex = require_tool("pdflatex")
    (folder / f"{name}.tex").write_text(source)
    result = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"], cwd=folder,
                            capture_output=True, text=True, timeout=300)
    log = (folder / f"{name}.log").read_text(errors="replace")
    assert result.returncode == 0, log[-2000:]
    assert not OVERFULL_3PT.search(log), re.findall(r"Overfull.*", log)[:3]


def assert_fits_a_phone(page: Any, path: Path, what: str = "") -> None:
    """The HTML file at `path`, opened in `page` (390 px wide), is no wider than the screen and has its grids."""
    page.goto(path.as_uri())
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 392, f"{what}: the page is {width}px wide on a 390px screen"
    assert page.locator("table.grid").count() > 0
