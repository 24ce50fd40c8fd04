"""One exercise per student: a network with their own numbers, seeded by their id, and the keys in one place.

    >>> seed_for("s1234", base=0) == seed_for("s1234", base=0)       # reproducible
    True

`write_variants(roster, folder, ...)` writes, for every student of the roster,
students/<id>/sheet.md (with network.svg), solution-template.txt and network.toml, and keys/<id>.md; keys.csv holds
every student's answer values (one row per student) and check.toml the sheet's precision rules.
`network_for(folder)` gives `stepgrad check --variants` each student's own network.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic
from stepgrad.core.layers.spec import LayerNetwork, load_any
from stepgrad.core.spec import Network, load
from stepgrad.teach.classroom import _safe, file_names, iter_students
from stepgrad.teach.exercise import Exercise, generate


def seed_for(student: str, base: int = 0) -> int:
    """A seed from the student id (and the sheet's base seed): the same id always gives the same numbers."""
    return int.from_bytes(hashlib.sha256(f"{base}:{student}".encode()).digest()[:6], "big")


def variants(roster: str, base: int = 0, **options: Any) -> list[tuple[str, str, Exercise]]:
    """(student id, name, exercise) for every student of the roster; `options` go to exercise.generate."""
    return [(sid, name, generate(seed=seed_for(sid, base), **options)) for sid, name in iter_students(roster)]


def write_variants(roster: str, folder: str, *, base: int = 0, fmt: str = "markdown", digits: int = 9,
                   min_digits: int | None = None, pdf: bool = False, force: bool = False,
                   **options: Any) -> list[tuple[str, str, Exercise]]:
    """Write every student's sheet (and with `pdf` sheet.pdf), template and network, and all answer keys.
    Ids that would share a folder are refused before anything is written; a folder that already holds
    exercises (keys.csv) is replaced only with `force`."""
    from stepgrad.core.persist import dumps

    out = Path(folder)
    made = variants(roster, base, **options)
    homes = file_names([sid for sid, _, _ in made])
    clash = [sid for sid, _, _ in made if homes[sid] != _safe(sid)]
    if clash:
        first = next(other for other, _, _ in made if _safe(other).lower() == _safe(clash[0]).lower())
        raise StepgradError(f"students {first!r} and {clash[0]!r} would share one folder ({_safe(first)}): "
                            "give them ids that differ in letters or digits", where=roster)
    if not force and (out / "keys.csv").exists():
        raise StepgradError("exercises are already there (keys.csv): use --force to replace them and their keys, "
                            "or another folder", where=folder)
    ext = {"markdown": "md", "latex": "tex", "html": "html", "text": "txt"}[fmt]
    names: list[str] = []
    rows = []
    for sid, name, ex in made:
        home = out / "students" / _safe(sid)
        home.mkdir(parents=True, exist_ok=True)
        write_atomic(home / f"sheet.{ext}", ex.sheet(fmt, diagram="network.svg", student=name))
        write_atomic(home / "network.svg", ex.diagram())
        if pdf:
            _pdf_sheet(ex, name, sid, home / "sheet.pdf")
        write_atomic(home / "solution-template.txt", ex.template())
        write_atomic(home / "network.toml", dumps(ex.network))
        (out / "keys").mkdir(parents=True, exist_ok=True)
        write_atomic(out / "keys" / f"{_safe(sid)}.{ext}", ex.key(fmt, digits))
        values = {s.name: s.value for s in ex.trace if s.text}
        names = names or list(values)
        rows.append([sid, name, ex.seed, *(f"{values.get(n, ''):.{digits}g}" if n in values else "" for n in names)])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "name", "seed", *names])
    writer.writerows(rows)
    write_atomic(out / "keys.csv", buffer.getvalue())
    rules = {"min_digits": min_digits, "round": options.get("round_to")}
    if any(v is not None for v in rules.values()):
        write_atomic(out / "check.toml", "[check]\n" + "".join(f"{k} = {v}\n" for k, v in rules.items() if v is not None))
    return made


def _pdf_sheet(ex: Exercise, name: str, sid: str, target: Path) -> None:
    """sheet.pdf with the student's name in the title; a name pdflatex's fonts cannot typeset (CJK, Greek...)
    is replaced by the student's id rather than failing the class's sheets."""
    from stepgrad.pictures.tikz import UNTYPESETTABLE
    from stepgrad.pictures.tikz import pdf as compile_pdf

    try:
        compile_pdf(ex.sheet("latex", diagram="tikz", student=name), target)
    except StepgradError as exc:
        if UNTYPESETTABLE not in str(exc) or name == sid:
            raise
        compile_pdf(ex.sheet("latex", diagram="tikz", student=sid), target)


def network_for(folder: str) -> Callable[[str], Network | LayerNetwork]:
    """student id -> their network (students/<id>/network.toml in `folder`, or network.json: a layer-table
    exercise's, exercise --layers rnn ...), each read once."""
    cache: dict[str, Network | LayerNetwork] = {}

    def pick(student: str) -> Network | LayerNetwork:
        if student not in cache:
            path = Path(folder) / "students" / _safe(student) / "network.toml"
            tables = path.with_name("network.json")
            if not path.is_file() and not tables.is_file():
                raise StepgradError(f"no exercise for student {student!r} in {folder} (not on the roster?)")
            cache[student] = load(str(path)) if path.is_file() else load_any(str(tables))
        return cache[student]

    return pick
