"""What each `stepgrad` command does, as library calls: the commands hold only their options.

Each job takes the command's arguments as keywords and returns what the command shows: text (or a
rich renderable, printed as it is) for the terminal or the output file. Notes for the reader ("wrote
FILE") go to `note`, which the CLI points at standard error.

    >>> text = explain_job(None, only="w5", fmt="markdown")   # what `stepgrad explain --only w5 --format markdown` prints

May import: stepgrad.web, stepgrad.teach, stepgrad.interop, stepgrad.formats, stepgrad.pictures,
stepgrad.tracing, stepgrad.training, stepgrad.core.
"""

from stepgrad.api._base import Note, load_spec
from stepgrad.api.classroom import check_job, exercise_job
from stepgrad.api.explain import diagram_job, explain_job, graph_job, names_job
from stepgrad.api.interop import export_job, import_job, is_loopback, serve_job
from stepgrad.api.train import progress_train, train_job

__all__ = ["Note", "load_spec", "check_job", "exercise_job", "diagram_job", "explain_job", "graph_job", "names_job",
           "export_job", "import_job", "is_loopback", "serve_job", "progress_train", "train_job"]
