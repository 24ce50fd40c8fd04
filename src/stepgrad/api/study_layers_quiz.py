"""`stepgrad quiz --study` on a layer-table network (conv, rnn, attention, normalization): stepgrad.teach.study_layers
in the terminal, with the options that do not apply to it refused in one line."""

from __future__ import annotations

from stepgrad.api.options import Marking
from stepgrad.core.errors import StepgradError
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.study import Read, Write


def study_layers(net: LayerNetwork, only: str | None, save: str | None, marking: Marking, digits: int, read: Read,
                 write: Write) -> int:
    """Study mode on `net`; the exit status: 0 every blank right (or carried forward), 1 otherwise."""
    from stepgrad.teach.study_layers import run

    for flag, used in (("--only", only), ("--save", save), ("--round", marking.round_to is not None),
                       ("--update-order", marking.update_order)):
        if used:
            raise StepgradError("a layer-table network is studied as it is: study mode chooses its own parameters, "
                                "exact, in its own update order, and saves nothing", where=flag)
    return run(net, read=read, write=write, digits=digits)
