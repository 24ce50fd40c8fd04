"""Marking a class's find-the-error answers: each student's answer against their own planted sheet, a gradebook,
a feedback file per student and a class report (which mistakes the class found, named and corrected).

    stepgrad exercise --find-error 2 --roster students.csv -o spot      # students/<id>/, keys/<id>/find-error.json
    stepgrad check returned/ --variants spot                            # -> returned-marked/

A student is found as `stepgrad check` finds them in a class folder (stepgrad.teach.classroom.submissions:
anna.txt -> anna, or the LMS's per-student folder); their key is keys/<id>/find-error.json in the variants
folder (with one sheet for the class, the find-error.json beside --network). A student whose answer is there
but who has no sheet, and a student of the roster who handed nothing in, are rows of their own, never dropped.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stepgrad.core.errors import StepgradError
from stepgrad.core.files import read_text, write_atomic
from stepgrad.core.spec import Network, load
from stepgrad.teach.classroom import _safe, _same, file_names, submissions
from stepgrad.teach.find_error_mark import Score, mark, valid_key

KEY_FILE = "find-error.json"
Sheet = tuple[dict[str, Any], Network]  # a student's key and network
KeyFor = Callable[[str], Sheet]


def is_find_error_folder(variants: str) -> bool:
    """True when `variants` was written by `stepgrad exercise --find-error --roster` (keys/<id>/find-error.json)."""
    keys = Path(variants) / "keys"
    return keys.is_dir() and any((d / KEY_FILE).is_file() for d in keys.iterdir() if d.is_dir())


def read_key(path: Path) -> dict[str, Any]:
    """A find-error.json, refused in one line when it is not one."""
    try:
        key = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise StepgradError(f"not valid JSON: {exc.msg}", where=str(path)) from None
    if not valid_key(key):
        raise StepgradError("not a find-the-error key (written by stepgrad exercise --find-error)", where=str(path))
    return key


def keys_in(variants: str) -> KeyFor:
    """student id -> (their key, their network) from a variants folder, each read once."""
    cache: dict[str, Sheet] = {}

    def pick(student: str) -> Sheet:
        if student not in cache:
            home = Path(variants) / "keys" / _safe(student)
            if not (home / KEY_FILE).is_file():
                raise StepgradError(f"no find-the-error sheet for student {student!r} in {variants} (not on the roster?)")
            cache[student] = (read_key(home / KEY_FILE), load(str(home / "network.toml")))
        return cache[student]

    return pick


@dataclass
class Marked:
    """One student's row: their answer's marks, or why it could not be marked."""

    student: str
    source: str
    score: Score | None
    error: str | None = None

    @property
    def points(self) -> int:
        return self.score.points if self.score else 0


@dataclass
class FindErrorBook:
    """The marked class: a row per answer, the students of the roster who handed nothing in, their names."""

    rows: list[Marked]
    names: dict[str, str] = field(default_factory=dict)

    def name(self, student: str) -> str:
        return self.names.get(student, student)

    @property
    def absent(self) -> list[str]:
        handed = {r.student for r in self.rows}
        return [sid for sid in self.names if sid not in handed]

    @property
    def most(self) -> int:
        return max((r.score.total for r in self.rows if r.score), default=0)

    def to_csv(self) -> str:
        buffer = io.StringIO()
        out = csv.writer(buffer, lineterminator="\n")
        width = max((len(r.score.rows) for r in self.rows if r.score), default=1)
        per = [f"{what} {k}" for k in range(1, width + 1) for what in ("line", "mistake", "corrected")]
        out.writerow(["student", "name", "points", "max", "status", *per])
        for r in self.rows:
            cells: list[str] = []
            for m in r.score.rows if r.score else ():
                cells += ["found" if m["line_found"] else f"not found ({m['given_line'] or 'blank'})",
                          "named" if m["mistake_named"] else "not named", m["corrected"]]
            status = r.error or ("pass" if r.score and r.score.ok else "fail")
            out.writerow([r.student, self.name(r.student), r.points, r.score.total if r.score else self.most, status,
                          *cells])
        for sid in self.absent:
            out.writerow([sid, self.name(sid), 0, self.most, "no answer handed in"])
        return buffer.getvalue()

    def to_dict(self) -> dict[str, Any]:
        return {"students": [{"student": r.student, "name": self.name(r.student), "source": r.source,
                              "error": r.error, **(r.score.to_dict() if r.score else {"points": 0})} for r in self.rows],
                "absent": [{"student": sid, "name": self.name(sid)} for sid in self.absent]}

    def feedback(self, row: Marked) -> str:
        lines = [f"# Find the error: feedback for {self.name(row.student)}", "", f"Answer: `{row.source}`", ""]
        if row.score is None:
            return "\n".join(lines + [f"Your answer could not be marked: {row.error}.", ""])
        lines += [f"**{row.score.points} of {row.score.total} points.**", ""]
        lines += [f"- {line}" for line in row.score.lines()]
        return "\n".join(lines) + "\n"

    def report(self) -> str:
        """The class report (Markdown): per mistake of the catalogue how often it was found, named and corrected,
        the mistakes confused with each other, and lines pointed at after the first wrong one."""
        marked = [r for r in self.rows if r.score]
        lines = ["# Find the error: the class", "",
                 f"{len(marked)} answers marked" + (f", {len(self.rows) - len(marked)} could not be" if
                                                    len(marked) < len(self.rows) else "") + "."]
        if self.absent:
            lines.append(f"No answer from {len(self.absent)} students of the roster: "
                         + ", ".join(self.name(s) for s in self.absent) + ".")
        full = sum(r.score.ok for r in marked)  # type: ignore[union-attr]
        lines += [f"Full marks: {full} of {len(marked)}.", "", "## Per mistake", "",
                  "| mistake | planted | line found | named | corrected (carried forward) |", "|---|---|---|---|---|"]
        by: dict[str, list[dict[str, Any]]] = {}
        for r in marked:
            for m in r.score.rows:  # type: ignore[union-attr]
                by.setdefault(m["label"], []).append(m)
        for label, ms in sorted(by.items(), key=lambda kv: sum(m["line_found"] for m in kv[1]) / len(kv[1])):
            follows = sum(m["corrected"] == "follows" for m in ms)
            lines.append(f"| {label} | {len(ms)} | {sum(m['line_found'] for m in ms)} | "
                         f"{sum(m['mistake_named'] for m in ms)} | {sum(m['corrected_right'] for m in ms)}"
                         + (f" ({follows})" if follows else "") + " |")
        later = sum(1 for ms in by.values() for m in ms if not m["line_found"] and m["given_line"].isdigit()
                    and int(m["given_line"]) > m["line"])
        confused = Counter((m["label"], m["given_mistake"]) for ms in by.values() for m in ms
                           if m["line_found"] and not m["mistake_named"] and m["given_mistake"])
        if later:
            lines += ["", f"{later} answer{'s' if later > 1 else ''} pointed at a line after the planted one: a line that follows from the "
                      "mistake, not the first wrong line."]
        if confused:
            lines += ["", "## Mistakes confused", ""]
            lines += [f"- {label}, named as “{given}”: {n}" for (label, given), n in confused.most_common()]
        return "\n".join(lines) + "\n"

    def write(self, folder: str, force: bool = False) -> list[str]:
        """gradebook.csv, gradebook.json, class-report.md and feedback/<student>.md in `folder`; the paths written."""
        target = Path(folder)
        if target.exists() and not target.is_dir():
            raise StepgradError("not a folder", where=folder)
        homes = file_names([r.student for r in self.rows])
        files = {Path("gradebook.csv"): self.to_csv(), Path("gradebook.json"): json.dumps(self.to_dict(), indent=2) + "\n",
                 Path("class-report.md"): self.report()}
        files |= {Path("feedback") / f"{homes[r.student]}.md": self.feedback(r) for r in self.rows}
        changed = [str(n) for n, text in files.items() if (target / n).exists() and not _same(target / n, text)]
        if changed and not force:
            raise StepgradError(f"{changed[0]} already there with other contents; use --force to replace, or another "
                                "folder", where=folder)
        (target / "feedback").mkdir(parents=True, exist_ok=True)
        for n, text in files.items():
            write_atomic(target / n, text)
        return [str(target / n) for n in ("gradebook.csv", "gradebook.json", "class-report.md", "feedback")]


def mark_class(path: str, key_for: KeyFor, names: dict[str, str] | None = None) -> FindErrorBook:
    """Every answer in the folder or zip `path`, marked against `key_for(student)`."""
    rows = []
    for sub in submissions(path):
        if sub.text is None:
            rows.append(Marked(sub.student, sub.source, None, sub.error))
            continue
        try:
            key, net = key_for(sub.student)
            rows.append(Marked(sub.student, sub.source, mark(key, sub.text, sub.source, network=net)))
        except StepgradError as exc:
            rows.append(Marked(sub.student, sub.source, None, exc.message))
    return FindErrorBook(rows, dict(names or {}))
