"""Tracing: the trace of one step built from what the engine recorded, and its transforms (the
optimizer's part, derivations, grouping by weight, `--only` names checked and expanded, the
numerical check, the matrix and graph views). Selecting steps by name is the trace's own
(`Trace.select`, in stepgrad.core).

May import: stepgrad.core.
"""

from __future__ import annotations

from typing import Any

from stepgrad.core import hooks


def _explain(net: Any, **options: Any) -> Any:
    from stepgrad.tracing.build import explain  # on first use: importing the package stays light

    return explain(net, **options)


hooks.plug("network.explain", _explain)  # net.explain()
