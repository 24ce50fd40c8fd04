"""Doctests: every `>>>` example in src/stepgrad runs (`make test` passes --doctest-modules through
pyproject's pytest options), with `stepgrad` already imported, as a reader of the docstring has it."""

from __future__ import annotations

import pytest

# Docstring examples that do not run yet, each in a module another change owns. Listed as strict
# xfails so the suite stays green meanwhile, and an entry fails (XPASS) the moment its docstring is
# fixed: then delete it here. Empty is the goal.
DOCTESTS_TO_FIX = {
    "stepgrad.check": "report.summary() shows no expected output",
    "stepgrad.check.formula": "float repr: 0.36000000000000004",
    "stepgrad.diagram": "`net` is not defined",
    "stepgrad.exercise": "no expected output for ex.network.weights[0]",
    "stepgrad.fast": "`net`, `np` and `state` are not defined",
    "stepgrad.torch_compare": "`nn` is not defined",
    "stepgrad.trace": "Step has no method substituted()",
    "stepgrad.train": "numpy 2 repr: np.float64(0.015912196)",
}


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict) -> None:
    import stepgrad

    doctest_namespace["stepgrad"] = stepgrad


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.name in DOCTESTS_TO_FIX:
            item.add_marker(pytest.mark.xfail(reason=DOCTESTS_TO_FIX[item.name], strict=True))
