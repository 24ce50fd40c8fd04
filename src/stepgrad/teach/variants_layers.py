"""One convolution exercise per student (exercise --layers conv --roster): their own numbers, seeded by their id.

`write_conv_variants(roster, folder, ...)` writes, for every student of the roster,
students/<id>/sheet.EXT (and sheet.pdf), solution-template.txt and network.json (which `stepgrad check
--variants` reads, variants.network_for), keys/<id>.EXT, keys.csv (every student's answer values, a row
each; empty where a quantity is not asked of that student) and check.toml with the sheet's precision
rule, as variants.py does for the dense exercises.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic
from stepgrad.teach.classroom import _safe, iter_students
from stepgrad.teach.exercise_layers import FORMATS, ConvExercise, generate_conv
from stepgrad.teach.variants import refuse_clashes, seed_for, write_keys


def conv_variants(roster: str, base: int = 0, shape: str = "basic", samples: int = 1,
                  round_to: int | None = None) -> list[tuple[str, str, ConvExercise]]:
    """(student id, name, exercise) for every student of the roster, every one of the same shape, samples and rounding."""
    return [(sid, name, generate_conv(seed_for(sid, base), shape, samples, round_to)) for sid, name in iter_students(roster)]


def write_conv_variants(roster: str, folder: str, *, base: int = 0, fmt: str = "markdown", digits: int = 9,
                        min_digits: int | None = None, pdf: bool = False,
                        force: bool = False, shape: str = "basic", samples: int = 1,
                        round_to: int | None = None) -> list[tuple[str, str, ConvExercise]]:
    """Write every student's sheet, template and network.json, and all keys (see the module docstring)."""
    out = Path(folder)
    made = conv_variants(roster, base, shape, samples, round_to)
    refuse_clashes([sid for sid, _, _ in made], roster, out, force)
    ext = FORMATS[fmt]
    # every quantity any student computes, in the derivation's order: a max-pool cell no window chose has no step
    # (its 0 is not asked), and which cells those are differs from student to student
    names = list(dict.fromkeys(s.name for _, _, ex in made for s in ex.trace if s.text))
    rows: list[list[Any]] = []
    for sid, name, ex in made:
        home = out / "students" / _safe(sid)
        home.mkdir(parents=True, exist_ok=True)
        write_atomic(home / f"sheet.{ext}", ex.sheet(fmt, student=name))
        if pdf:
            pdf_sheet(ex, home / "sheet.pdf", name, sid)
        write_atomic(home / "solution-template.txt", ex.template())
        write_atomic(home / "network.json", json.dumps(ex.spec, indent=2) + "\n")
        (out / "keys").mkdir(parents=True, exist_ok=True)
        write_atomic(out / "keys" / f"{_safe(sid)}.{ext}", ex.key(fmt, digits))
        values = {s.name: s.value for s in ex.trace if s.text}
        rows.append([sid, name, ex.seed, *(f"{values[n]:.{digits}g}" if n in values else "" for n in names)])
    write_keys(out, names, rows, {"min_digits": min_digits, "round": round_to})
    return made


def pdf_sheet(ex: ConvExercise, target: Path, name: str | None = None, sid: str | None = None) -> None:
    """sheet.pdf (pdflatex) with the student's name in the title; a name pdflatex's fonts cannot typeset is
    replaced by the id rather than failing the class's sheets."""
    from stepgrad.pictures.tikz import UNTYPESETTABLE
    from stepgrad.pictures.tikz import pdf as compile_pdf

    try:
        compile_pdf(ex.sheet("latex", student=name), target)
    except StepgradError as exc:
        if UNTYPESETTABLE not in str(exc) or name == sid or sid is None:
            raise
        compile_pdf(ex.sheet("latex", student=sid), target)
