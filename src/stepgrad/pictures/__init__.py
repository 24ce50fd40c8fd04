"""Pictures: the network diagram (SVG, PNG) and its layout, the TikZ figure, the loss plot.

May import: stepgrad.tracing, stepgrad.training, stepgrad.core.
"""

from __future__ import annotations

from typing import Any

from stepgrad.core import hooks


def _network_svg(net: Any) -> str:
    from stepgrad.pictures.diagram import network_svg  # on first use: importing the package stays light

    return network_svg(net)


hooks.plug("network.svg", _network_svg)  # Network._repr_svg_, the diagram in Jupyter
