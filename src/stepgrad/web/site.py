"""A static copy of the explorer (`stepgrad site -o DIR`): the explorer's page and files, and its server's
answers precomputed for the bundled networks, for a course page that has no Python behind it.

Why precomputed: the plan was stepgrad's core running in the browser with Pyodide, but stepgrad needs numpy,
and a numpy built for Pyodide comes only from Pyodide's CDN (the npm package `pyodide` has the runtime, not
numpy's wheel; PyPI has no pyemscripten wheel of numpy). So the page answers from files: every stage of one
training step under both update orders, the matrix view, and (networks of at most SELECTABLE weights, under
the network's own update order) every name's derivation at the stages that show the weights.
Anything else (editing, training, other digits, the graph) is refused in one line that names `stepgrad serve`,
and a banner says that this copy is precomputed.

Every answer is computed by the server's own functions (stepgrad.web.local), so its numbers are the CLI's.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from stepgrad.core.errors import StepgradError
from stepgrad.core.spec import UPDATE_ORDERS, Network, builtin
from stepgrad.web.local import Local

STATIC = resources.files("stepgrad.web") / "static"
DIGITS = 9  # the page's default
SELECTABLE = 40  # networks with at most this many weights get every name's derivation precomputed
BIG_MATH_PAGE, MATH_PAGE = 8, 40  # the page's first page of formulas (app.js mathPage)
SKIPPED = {"widget.js"}  # the notebook's loader: not on a site


def _weights(net: Network) -> int:
    return sum(a * b for a, b in zip(net.layers, net.layers[1:]))


def _show(key: str) -> str:
    """What the diagram shows at a stage (stages.js stageShow)."""
    if key.startswith("backward"):
        return "gradients"
    if key.startswith("update") or key in ("after", "error_after"):
        return "updated"
    return "weights"


def key(body: dict[str, Any]) -> str:
    """A request's key in the answer files: its fields but the spec, sorted (site.js builds the same)."""
    return json.dumps([[k, body[k]] for k in sorted(body) if k != "spec"], separators=(",", ":"), ensure_ascii=False)


def answers(net: Network) -> dict[str, Any]:
    """{key: reply} of the requests the page makes about `net` as it is loaded (stages, selections, matrix view)."""
    local, spec = Local(net), net.to_dict()
    out: dict[str, Any] = {}

    def ask(path: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = local.answer("POST", path, {"spec": spec, **body})
        if reply["status"] != 200:
            raise StepgradError(f"site: {net.name}: {path} {body}: {json.loads(reply['body'])['error']}")
        out[key(body)] = reply
        return json.loads(reply["body"])

    math_steps = BIG_MATH_PAGE if _weights(net) > 40 else MATH_PAGE
    for order in UPDATE_ORDERS:
        base = {"update_order": order, "digits": DIGITS, "group": "layer", "derive": False, "math_steps": math_steps}
        first = ask("/api/explain", {**base, "show": "weights", "math_for": ["given"]})
        names = set(re.findall(r'data-name="([^"]+)"', first["diagrams"][0]["svg"])) | {"E_total"}
        names |= {s["name"] for sec in first["sections"] if sec["key"] in ("given", "forward", "error", "error_after")
                  for s in sec["steps"]}
        for sec in first["sections"]:
            ask("/api/explain", {**base, "show": _show(sec["key"]), "math_for": [sec["key"]]})
            layer = re.fullmatch(r"backward_(\d+)", sec["key"])
            weights = [w for row in first["meta"]["weights"][int(layer[1]) - 1] for w in row] if layer else []
            if len(weights) <= 64:  # the page's stage of each weight (stages.js buildStages)
                for w in weights:
                    ask("/api/explain", {**base, "show": "gradients", "math_for": [], "only": [w]})
        if _weights(net) <= SELECTABLE and order == net.update_order:  # a click on any name (the forward stages)
            for name in sorted(names):
                ask("/api/explain", {**base, "show": "weights", "math_for": [], "only": [name]})
        view = {"update_order": order, "digits": DIGITS, "view": "matrix"}
        matrix = ask("/api/view", view)
        for block in re.findall(r'data-block="([^"]+)" data-lazy', matrix["html"]):
            ask("/api/view", {**view, "block": block})
    return out


def build_site(out: Path, networks: Sequence[str] = ()) -> list[Path]:
    """Write the static explorer into `out` for the bundled `networks` (default: the seed deck's), the first shown first."""
    from stepgrad.web.api import builtins, network_payload
    from stepgrad.web.app import TIME_LIMIT

    names = list(networks) or ["mazur"]
    unknown = [n for n in names if n not in builtins()]
    if unknown:
        raise StepgradError(f"site: no bundled network named {unknown[0]!r}; choose from {', '.join(builtins())}")
    if "mazur" in names:  # the seed deck's network first, as `stepgrad serve` shows it
        names.remove("mazur")
        names.insert(0, "mazur")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "site.json").is_file())):
        raise StepgradError(f"site: {out} exists and is not a stepgrad site: give a new or empty folder")
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "static").mkdir(parents=True)
    (tmp / "answers").mkdir()
    for source in STATIC.iterdir():
        if source.name not in SKIPPED:
            (tmp / "static" / source.name).write_bytes(source.read_bytes())
    from stepgrad.core.budget import SERVER

    index: dict[str, Any] = {"made": date.today().isoformat(), "networks": []}
    for k, name in enumerate(names):
        net = builtin(name)
        payload = network_payload(net, None, SERVER, TIME_LIMIT)
        payload["builtins"] = names  # the networks this copy has
        payload["formats"] = []  # downloads need a server
        file = f"answers/{k}-{name}.json"
        (tmp / file).write_text(json.dumps(answers(net), ensure_ascii=False), encoding="utf-8")
        index["networks"].append({"name": name, "file": file, "network": payload})
    (tmp / "site.json").write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    page = page.replace('href="/static/', 'href="static/').replace('src="/static/app.js"', 'src="static/site.js"')
    page = page.replace('<div id="error"', BANNER + '\n<div id="error"', 1)
    (tmp / "index.html").write_text(page, encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return sorted(p for p in out.rglob("*") if p.is_file())


BANNER = ('<p class="site-banner" role="note"><strong>A static copy with precomputed answers.</strong> Every number '
          "here was computed by stepgrad ahead of time, for the bundled networks as shipped: step through the stages, "
          "click any name, see the matrix form. Editing a network, training, other digits and the computation graph "
          "need Python: <code>pip install 'stepgrad[web]'</code> and <code>stepgrad serve</code>.</p>")
