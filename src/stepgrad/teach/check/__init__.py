"""Check a hand-computed solution: a verdict for every number, with a diagnosis for known mistakes.

    >>> from stepgrad.teach.check import check, solution
    >>> from stepgrad.teach.deck_figures import transcription    # examples/seed-deck-solution.txt, bundled
    >>> report = check(stepgrad.builtin(), transcription())
    >>> report.summary()
    '40 correct, 2 follows, 4 close, 3 wrong'

solution.py reads the file (aliases.py: the notations students use), context.py builds the exact /
own / other-order worlds, precision.py the rounding each own value carries, routes.py finds the ways
an error is carried forward, verdicts.py decides, required.py says what a pass requires,
diagnoses.py (and diagnoses_class.py) is the registry of known mistakes, hints.py adds hints on the
whole report, report.py writes the table or JSON.
"""

from stepgrad.teach.check import (
    diagnoses_class,  # noqa: F401  (registers the mistakes found by marking a class)
    diagnoses_conv,  # noqa: F401  (registers the conv geometry, channel and batch mistakes)
    diagnoses_flatten,  # noqa: F401  (registers the flatten order)
    diagnoses_frozen,  # noqa: F401  (registers moving a parameter held fixed)
    diagnoses_layers,  # noqa: F401  (registers the conv, pooling and residual mistakes)
    diagnoses_seq,  # noqa: F401  (registers the rnn, attention and normalization mistakes)
)
from stepgrad.teach.check.solution import Solution, load, loads
from stepgrad.teach.check.verdicts import CLOSE_RELATIVE, Report, Result, Rules, check

__all__ = ["check", "load", "loads", "Solution", "Report", "Result", "Rules", "CLOSE_RELATIVE"]
