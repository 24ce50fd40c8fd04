"""A known mistake with parameters held fixed (`update_weights = [true, false]`, a frozen PyTorch parameter): the
student moved one by gradient descent anyway, though its new value is its old one (tracing/held.py).

    >>> from stepgrad.teach.check.diagnoses import MISTAKES
    >>> "frozen_updated" in [m.key for m in MISTAKES]
    True
"""

from __future__ import annotations

from collections.abc import Mapping

from stepgrad.core import names
from stepgrad.core.trace import Step
from stepgrad.teach.check.context import Context
from stepgrad.teach.check.diagnoses import Candidates, mistake


@mistake("frozen_updated", "a parameter held fixed was moved")
def _frozen_updated(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    if step.kind != "update" or len(step.factors) != 1 or step.text != f"«{step.factors[0]}»":
        return
    parameter = step.factors[0]
    grad = names.gradient(parameter)
    if grad in base and names.LEARNING_RATE in base and parameter in base:
        yield (base[parameter] - base[names.LEARNING_RATE] * base[grad],
               f"recomputed as {parameter} - eta * {grad}: {parameter} does not train (held fixed, frozen in "
               f"PyTorch), so {step.name} = {parameter}")
