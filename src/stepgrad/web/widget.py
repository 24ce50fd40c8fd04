"""The explorer as a notebook widget (anywidget: Jupyter, VS Code, marimo): `stepgrad.widget(net)`.

    import stepgrad
    stepgrad.widget(stepgrad.builtin())        # the last line of a cell shows it

The widget is the explorer page itself: its ESM loads the page's own modules (stepgrad/web/static) and its
CSS is the page's; every request the page makes is answered here in the kernel by the same functions as
`stepgrad serve` (stepgrad.web.local), so the numbers are the CLI's. Needs `pip install 'stepgrad[notebook]'`.
One explorer per notebook page (the page's elements have fixed ids).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from stepgrad.core.errors import StepgradError
from stepgrad.core.spec import Network, builtin
from stepgrad.web.local import Local

STATIC = resources.files("stepgrad.web") / "static"
LOADER = "widget.js"


def esm() -> str:
    """The widget's ES module: the explorer's modules as text, the page's body, and the loader (widget.js)."""
    sources = {p.name: p.read_text(encoding="utf-8") for p in sorted(STATIC.iterdir(), key=lambda p: p.name)
               if p.name.endswith(".js") and p.name != LOADER}
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    body = page[page.index(">", page.index("<body")) + 1:page.index("</body>")]
    return (f"const SOURCES = {json.dumps(sources)};\nconst BODY = {json.dumps(body)};\n"
            + (STATIC / LOADER).read_text(encoding="utf-8"))


def css() -> str:
    """The explorer's stylesheet, its page-wide rules (:root, body) kept to the widget's element."""
    text = (STATIC / "app.css").read_text(encoding="utf-8")
    return re.sub(r"^body \{[^}]*\}\n?", "", text.replace(":root {", ".stepgrad-widget {", 1), flags=re.M)


def widget(net: Network | None = None) -> Any:
    """The explorer for `net` (default: the seed deck's network) as a notebook widget."""
    try:
        import anywidget
        import traitlets
    except ImportError:
        raise StepgradError("the notebook widget needs anywidget: pip install 'stepgrad[notebook]'") from None

    class Explorer(anywidget.AnyWidget):
        """The explorer page in a notebook; the page's requests are answered by stepgrad.web.local."""

        _esm = esm()
        _css = css()
        name = traitlets.Unicode("").tag(sync=True)

        def __init__(self, spec: Network) -> None:
            super().__init__(name=spec.name or "")
            self.local = Local(spec)
            self.on_msg(self._answer)

        def _answer(self, _widget: Any, content: Any, _buffers: Any) -> None:
            if not isinstance(content, dict) or "id" not in content:
                return
            reply = self.local.answer(str(content.get("method")), str(content.get("path")), content.get("body"))
            self.send({"id": content["id"], **reply})

    return Explorer(net if net is not None else builtin())
