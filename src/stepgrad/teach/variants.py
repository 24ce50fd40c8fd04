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
from stepgrad.core.spec import Network, load
from stepgrad.teach.classroom import _safe, iter_students
from stepgrad.teach.exercise import Exercise, generate


def seed_for(student: str, base: int = 0) -> int:
    """A seed from the student id (and the sheet's base seed): the same id always gives the same numbers."""
    return int.from_bytes(hashlib.sha256(f"{base}:{student}".encode()).digest()[:6], "big")


def variants(roster: str, base: int = 0, **options: Any) -> list[tuple[str, str, Exercise]]:
    """(student id, name, exercise) for every student of the roster; `options` go to exercise.generate."""
    return [(sid, name, generate(seed=seed_for(sid, base), **options)) for sid, name in iter_students(roster)]


def write_variants(roster: str, folder: str, *, base: int = 0, fmt: str = "markdown", digits: int = 9,
                   min_digits: int | None = None, pdf: bool = False, **options: Any) -> list[tuple[str, str, Exercise]]:
    """Write every student's sheet (and with `pdf` sheet.pdf), template and network, and all answer keys."""
    from stepgrad.core.persist import dumps

    out = Path(folder)
    made = variants(roster, base, **options)
    ext = {"markdown": "md", "latex": "tex", "html": "html", "text": "txt"}[fmt]
    names: list[str] = []
    rows = []
    for sid, name, ex in made:
        home = out / "students" / _safe(sid)
        home.mkdir(parents=True, exist_ok=True)
        write_atomic(home / f"sheet.{ext}", ex.sheet(fmt, diagram="network.svg").replace(f"(seed {ex.seed})", f"for {name}"))
        write_atomic(home / "network.svg", ex.diagram())
        if pdf:
            from stepgrad.pictures.tikz import pdf as compile_pdf

            compile_pdf(ex.sheet("latex", diagram="tikz").replace(f"(seed {ex.seed})", f"for {name}"), home / "sheet.pdf")
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


def network_for(folder: str) -> Callable[[str], Network]:
    """student id -> their network (students/<id>/network.toml in `folder`), each read once."""
    cache: dict[str, Network] = {}

    def pick(student: str) -> Network:
        if student not in cache:
            path = Path(folder) / "students" / _safe(student) / "network.toml"
            if not path.is_file():
                raise StepgradError(f"no exercise for student {student!r} in {folder} (not on the roster?)")
            cache[student] = load(str(path))
        return cache[student]

    return pick
