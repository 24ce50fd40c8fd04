"""Training: the loop that repeats the engine's step, its fast backends (numpy buffers, generated
pure Python, numba), the data sets it reads, and the finite check every run ends with.

May import: stepgrad.core.
"""

from __future__ import annotations

from typing import Any

from stepgrad.core import hooks


def _train(net: Any, iterations: int, **options: Any) -> Any:
    from stepgrad.training.loop import train  # on first use: importing the package stays light

    return train(net, iterations, **options)


hooks.plug("network.train", _train)  # net.train()
