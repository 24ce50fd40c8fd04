"""The traces the explorer has computed lately, kept so that moving between stages and views of the same network
asks the engine once (a stage change on 16-16-10 then costs only the formatting of what is shown).

    >>> from stepgrad.core.spec import builtin
    >>> net = builtin()
    >>> explained(net, "synchronous") is explained(net.copy(), "synchronous")
    True

A trace is a frozen record, so one may serve every request about the same network and update order.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

from stepgrad.core.spec import Network
from stepgrad.core.trace import Trace
from stepgrad.tracing.build import explain

KEPT = 8  # networks x update orders remembered (a 16-16-10 trace is a few MB)
_traces: OrderedDict[tuple[str, str], Trace] = OrderedDict()
_lock = threading.Lock()


def explained(net: Network, update_order: str) -> Trace:
    """The trace of one training step of `net` under `update_order`, computed once for the last KEPT asked."""
    key = (json.dumps(net.to_dict(), sort_keys=True, allow_nan=True), update_order)
    with _lock:
        trace = _traces.get(key)
        if trace is not None:
            _traces.move_to_end(key)
            return trace
    trace = explain(net, update_order=update_order)  # outside the lock: other requests go on meanwhile
    with _lock:
        _traces[key] = trace
        while len(_traces) > KEPT:
            _traces.popitem(last=False)
    return trace
