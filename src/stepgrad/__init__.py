"""stepgrad: backpropagation you can follow and trust.

    >>> import stepgrad
    >>> net = stepgrad.builtin()                 # the seed deck's 2-2-2 network
    >>> trace = stepgrad.explain(net)            # one training step, every quantity named
    >>> trace.values["dE_total/dw5"]
    0.0821670405642...
    >>> text = stepgrad.render(trace, "text")    # or "json", "markdown", "latex", "slides", "html"
    >>> "dE_total/dw5 = dE_total/dout_o1 * dout_o1/dnet_o1 * dnet_o1/dw5" in text
    True
"""

# The facade may import every layer; the layers import only downward (pyproject's import-linter
# contracts). What a network or a trace does through a higher layer (net.explain(), a trace shown in
# rich and Jupyter, a network's diagram) is plugged in by the packages imported here (core.hooks).
from stepgrad import pictures as _pictures  # noqa: F401  (plugs in Network._repr_svg_)
from stepgrad.core.errors import DataError, DivergenceError, SpecError, StepgradError
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.spec import load as load_layers
from stepgrad.core.layers.spec import loads as loads_layers
from stepgrad.core.spec import Network, builtin, load, loads
from stepgrad.core.trace import Section, Step, Trace
from stepgrad.formats import render
from stepgrad.tracing.build import explain
from stepgrad.training.loop import History, train

__all__ = [
    "Network", "builtin", "load", "loads", "LayerNetwork", "load_layers", "loads_layers", "explain", "render", "train", "History",
    "Trace", "Section", "Step", "StepgradError", "SpecError", "DataError", "DivergenceError",
]
__version__ = "0.1.0"

from stepgrad.core.persist import save  # noqa: E402

__all__ += ["save", "to_torch", "from_torch", "explain_torch", "compare_with_torch", "widget"]

# PyTorch interop and the notebook widget are imported on first use, so `import stepgrad` never imports torch.
_LAZY = {"to_torch": "interop.convert", "from_torch": "interop.convert",
         "explain_torch": "interop.compare", "compare_with_torch": "interop.compare",
         "widget": "web.widget"}  # the notebook widget: anywidget on first use


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'stepgrad' has no attribute {name!r}")
