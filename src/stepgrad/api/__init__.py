"""stepgrad's public Python API: one function per command, which the command line only wraps.

Each `stepgrad` command is its options and one call to a function here, with the same parameters: what
the command prints, the function returns (text, or a rich renderable for the terminal). Every default is
declared once, in these signatures and in the option records (`stepgrad.api.options`), and the command
line reads it from there. Lines for the reader ("wrote FILE", warnings) go to `note`, a callback.

    >>> from stepgrad.api import Display, Extras, explain_document
    >>> text = explain_document(fmt="markdown", extras=Extras(only="w5"), display=Display(decimals=3))
    >>> "0.593" in text          # what `stepgrad explain --only w5 --format markdown --decimals 3` prints
    True

| command             | function            |
|---------------------|---------------------|
| `stepgrad`          | `show_deck`         |
| `stepgrad explain`  | `explain_document`  |
| `stepgrad names`    | `quantity_names`    |
| `stepgrad diagram`  | `network_diagram`   |
| `stepgrad graph`    | `step_graph`        |
| `stepgrad train`    | `train_network`     |
| `stepgrad check`    | `check_solution`    |
| `stepgrad exercise` | `make_exercise`     |
| `stepgrad quiz`     | `run_quiz`          |
| `stepgrad audit`    | `audit_solution`    |
| `stepgrad course-pack` | `make_course_pack` |
| `stepgrad export`   | `export_torch`      |
| `stepgrad import`   | `import_torch`      |
| `stepgrad serve`    | `serve_explorer`    |
| `stepgrad site`     | `build_static_site` |

May import: stepgrad.web, stepgrad.teach, stepgrad.interop, stepgrad.formats, stepgrad.pictures,
stepgrad.tracing, stepgrad.training, stepgrad.core.
"""

from typing import Any

from stepgrad.api._base import Note, load_spec
from stepgrad.api.classroom import check_solution, make_exercise, run_quiz
from stepgrad.api.course_pack import make_course_pack
from stepgrad.api.explain import explain_document, network_diagram, quantity_names, step_graph
from stepgrad.api.interop import build_static_site, export_torch, import_torch, is_loopback, serve_explorer
from stepgrad.api.options import (
    AuditOptions,
    ClassOptions,
    DataSet,
    Display,
    Extras,
    ImportOptions,
    Marking,
    PackOptions,
    Problem,
    RunFiles,
    StepOptions,
    TrainOptions,
)
from stepgrad.api.teaching import audit_solution
from stepgrad.api.train import progress_train, train_network

__all__ = [
    "explain_document", "quantity_names", "network_diagram", "step_graph", "train_network", "check_solution",
    "make_exercise", "run_quiz",
    "audit_solution", "AuditOptions", "make_course_pack", "PackOptions", "export_torch", "import_torch", "serve_explorer", "show_deck",
    "build_static_site",
    "Display", "StepOptions", "Extras", "TrainOptions", "DataSet", "RunFiles", "Marking", "ClassOptions", "Problem",
    "ImportOptions", "Note", "load_spec", "is_loopback", "progress_train",
]



def __getattr__(name: str) -> Any:
    """`show_deck` is imported on first use: it brings in rich and the deck's figures, which no other call needs."""
    if name == "show_deck":
        from stepgrad.api.deck import show_deck

        return show_deck
    raise AttributeError(f"module 'stepgrad.api' has no attribute {name!r}")
