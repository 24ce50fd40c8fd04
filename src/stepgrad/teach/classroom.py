"""Mark a whole class: every solution in a folder (or a zip) -> a gradebook and a feedback file per student.

    >>> import pathlib, tempfile
    >>> returned = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (returned / "anna.txt").write_text("out_h1 = 0.593270\\nnet_h1 =\\n")   # one right, one blank
    >>> book = mark_class(str(returned), lambda student: stepgrad.builtin())
    >>> [(row.student, row.total, row.report.summary()) for row in book.rows], book.maximum
    ([('anna', 1.0, '1 correct, 0 follows, 0 close, 0 wrong, 1 unanswered, 26 missing')], 28.0)
    >>> paths = book.write(str(returned / "marked"))   # gradebook.csv, gradebook.json, feedback/anna.md

A student is a solution file's name without its extension (anna.txt -> anna), or, for a file
inside a per-student folder (as learning-management systems export them), that folder's name.
The gradebook's columns are every quantity a student answered, left blank or was required to
answer (Rules.required: by default the step's results), so missing answers earn 0 of their points
and the row's status is "fail". Points per quantity come from a points scheme (points_scheme): each quantity's weight (1 unless a
pattern says otherwise) times the share its verdict earns (correct 1, follows 1, close 1, anything
else 0 unless the scheme says otherwise). A file that cannot be read at all is a row with 0 points
and the reason, never the end of the run.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from stepgrad.core.errors import StepgradError
from stepgrad.core.files import read_text, write_atomic
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.spec import Network
from stepgrad.teach.check import Report, Rules, check
from stepgrad.teach.check.context import build, traces
from stepgrad.teach.check.report import _note
from stepgrad.teach.check.solution import Solution, _format_of, loads
from stepgrad.teach.check.verdicts import matches

SUFFIXES = (".txt", ".yaml", ".yml", ".json")
SHARES = {"correct": 1.0, "follows": 1.0, "close": 1.0, "wrong": 0.0, "unknown": 0.0, "unanswered": 0.0,
          "unreadable": 0.0}


@dataclass(frozen=True)
class Points:
    """A points scheme: the share of a quantity's points each verdict earns, and each quantity's weight."""

    shares: dict[str, float] = field(default_factory=lambda: dict(SHARES))
    weights: tuple[tuple[str, float], ...] = ()  # (name pattern, points); the first match wins
    default: float = 1.0

    def weight(self, name: str) -> float:
        return next((w for pattern, w in self.weights if fnmatch.fnmatchcase(name, pattern)), self.default)

    def earned(self, name: str, verdict: str) -> float:
        return self.weight(name) * self.shares.get(verdict, 0.0)


def points_scheme(path: str | None) -> Points:
    """A points scheme from TOML (None: every quantity 1 point, correct/follows/close full credit):

        [verdicts]            # the share of the points each verdict earns
        follows = 0.5
        close = 0.75
        [points]              # points per quantity, by name pattern (fnmatch); default for the rest
        default = 1
        "dE_total/dw*" = 2
    """
    if path is None:
        return Points()
    import tomllib

    try:
        data = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise StepgradError(f"not valid TOML: {exc}", where=path) from None
    unknown = set(data) - {"verdicts", "points"}
    if unknown:
        raise StepgradError(f"unknown table {sorted(unknown)[0]!r} (expected [verdicts] and [points])", where=path)
    shares = dict(SHARES)
    for verdict, share in data.get("verdicts", {}).items():
        if verdict not in SHARES or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise StepgradError(f"[verdicts] {verdict}: expected a share between 0 and 1 for one of "
                                f"{', '.join(SHARES)}", where=path)
        shares[verdict] = float(share)
    points = dict(data.get("points", {}))
    default = points.pop("default", 1.0)
    for pattern, value in [("default", default), *points.items()]:
        if not isinstance(value, int | float) or value < 0:
            raise StepgradError(f"[points] {pattern}: expected a number of points >= 0", where=path)
    return Points(shares, tuple((p, float(v)) for p, v in points.items()), float(default))


@dataclass(frozen=True)
class Submission:
    """One returned solution: who, where from, and its text (None with `error` when unreadable)."""

    student: str
    source: str
    text: str | None
    error: str | None = None


_LMS_FOLDER = re.compile(r"(.+?)_\d+_assignsubmission_")  # Moodle: "Anna Smith_1234_assignsubmission_file_"


def _students(paths: list[PurePosixPath]) -> list[str]:
    """Who handed in each file: the student's name from an LMS export's per-student folder
    ("Anna Smith_1234_assignsubmission_file_/x.txt" -> "Anna Smith"; with two files in it, each row
    says which: "Anna Smith (x.txt)"), or a folder's name when it holds just this one solution, else
    the file's name without its extension. Two students never share a name: the LMS id, else the
    folder, tells them apart ("Anna Smith (1234)", "Anna Smith (5678)")."""
    per_folder: dict[PurePosixPath, int] = {}
    for p in paths:
        per_folder[p.parent] = per_folder.get(p.parent, 0) + 1
    who = []
    for p in paths:
        lms = _LMS_FOLDER.match(p.parent.name)
        if lms:
            who.append(lms.group(1) if per_folder[p.parent] == 1 else f"{lms.group(1)} ({p.name})")
        elif p.parent.name and per_folder[p.parent] == 1:
            who.append(p.parent.name.split("_")[0])
        else:
            who.append(p.stem)
    counts: dict[str, int] = {}
    for name in who:
        counts[name] = counts.get(name, 0) + 1
    for i, p in enumerate(paths):
        if counts[who[i]] > 1:  # two folders of one display name: the LMS id (or the folder) keeps them apart
            lms_id = p.parent.name.split("_")[1] if _LMS_FOLDER.match(p.parent.name) else ""
            who[i] = f"{who[i]} ({lms_id or p.parent.as_posix() or p.name})"
    seen: dict[str, int] = {}
    for i, name in enumerate(who):  # still alike (the same id twice): numbered, never merged
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            who[i] = f"{name} #{seen[name]}"
    return who


MAX_FILE_BYTES = 1_000_000  # a solution file is a few kilobytes; anything beyond 1 MB is not one
MAX_ARCHIVE_BYTES = 200_000_000  # everything unpacked from one zip together
MAX_RATIO = 200  # unpacked size / packed size of one entry: beyond it, a zip bomb


def _class_files(root: Path) -> tuple[list[Path], list[Path]]:
    """(solution files, links) in a class folder: a link is reported, never followed, not even inside the folder."""
    files: list[Path] = []
    links: list[Path] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        here = Path(folder)
        links += [here / d for d in dirs if (here / d).is_symlink()]
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (here / d).is_symlink())
        for name in names:
            path = here / name
            if not name.startswith(".") and path.suffix.lower() in SUFFIXES:
                (links if path.is_symlink() else files).append(path)
    return sorted(files), sorted(links)



def submissions(path: str) -> list[Submission]:
    """Every solution file in a folder (recursively) or a zip, by student, in name order. A link is not
    followed (its row says so), and a file or a zip entry beyond the size caps is not read."""
    root = Path(path)
    if root.is_dir():
        files, links = _class_files(root)
        found = sorted(files + links)
        who = _students([PurePosixPath(p.relative_to(root).as_posix()) for p in found])
        return [Submission(student, str(p), None, "not marked: a link (only files inside the class folder are read)")
                if p in links else _read(student, str(p), partial(_read_capped, p)) for student, p in zip(who, found)]
    if root.suffix.lower() == ".zip" and root.is_file():
        try:
            archive = zipfile.ZipFile(root)
        except zipfile.BadZipFile:
            raise StepgradError("not a zip file", where=path) from None
        with archive:
            infos = sorted((i for i in archive.infolist() if not i.is_dir() and "__MACOSX" not in i.filename
                            and PurePosixPath(i.filename).suffix.lower() in SUFFIXES), key=lambda i: i.filename)
            if sum(i.file_size for i in infos) > MAX_ARCHIVE_BYTES:
                raise StepgradError(f"unpacks to more than {MAX_ARCHIVE_BYTES:,} bytes: not a class's solutions",
                                    where=path)
            who = _students([PurePosixPath(i.filename) for i in infos])
            return [_read(student, f"{path}:{i.filename}", partial(_read_entry, archive, i))
                    for student, i in zip(who, infos)]
    raise StepgradError("no such file" if not root.exists() else "expected a folder of solutions or a .zip", where=path)


def _read_capped(path: Path) -> bytes:
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise OSError(f"larger than {MAX_FILE_BYTES:,} bytes, not a solution file")
    return data


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_FILE_BYTES or info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise OSError(f"unpacks to {info.file_size:,} bytes, not a solution file (limit {MAX_FILE_BYTES:,})")
    with archive.open(info) as f:  # the header may lie: never read more than the cap
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise OSError(f"larger than {MAX_FILE_BYTES:,} bytes, not a solution file")
    return data


def _read(student: str, source: str, read: Callable[[], bytes]) -> Submission:
    try:
        return Submission(student, source, read().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, zipfile.BadZipFile, RuntimeError) as exc:
        return Submission(student, source, None, f"cannot read: {exc}")


@dataclass
class Row:
    """One student's line of the gradebook."""

    student: str
    source: str
    report: Report | None
    points: dict[str, float]
    error: str | None = None
    solution: Solution | None = None
    network: int = 0  # the key of the student's network in the marking run

    @property
    def total(self) -> float:
        return sum(self.points.values())


@dataclass
class Gradebook:
    """The marked class: one row per student, the quantities asked, and the points scheme."""

    rows: list[Row]
    quantities: list[str]
    scheme: Points
    names: dict[str, str] = field(default_factory=dict)  # student id -> name, from the roster

    def name(self, row: Row) -> str:
        """The student's name: the roster's, else what the file or LMS folder says."""
        return self.names.get(row.student, row.student)

    @property
    def maximum(self) -> float:
        return sum(self.scheme.weight(q) for q in self.quantities)

    def to_csv(self) -> str:
        buffer = io.StringIO()
        out = csv.writer(buffer, lineterminator="\n")
        out.writerow(["student", "name", "total", "max", "correct", "follows", "close", "wrong", "unanswered",
                      "unreadable", "missing", "status", *self.quantities])
        for row in self.rows:
            c = row.report.counts if row.report else dict.fromkeys(SHARES, 0)
            status = row.error or ("pass" if row.report and row.report.ok else "fail")
            out.writerow([row.student, self.name(row), _num(row.total), _num(self.maximum), c["correct"], c["follows"], c["close"],
                          c["wrong"], c["unanswered"], c["unreadable"], len(row.report.missing) if row.report else 0,
                          status,
                          *(_num(row.points.get(q, 0.0)) for q in self.quantities)])
        return buffer.getvalue()

    def to_dict(self) -> dict[str, Any]:
        return {"max": self.maximum, "quantities": self.quantities,
                "scheme": {"verdicts": self.scheme.shares, "points": dict(self.scheme.weights),
                           "default": self.scheme.default},
                "students": [{"student": r.student, "name": self.name(r), "source": r.source, "total": r.total, "error": r.error,
                              "points": r.points, "summary": r.report.to_dict()["summary"] if r.report else None,
                              "hint": r.report.meta.get("hint") if r.report else None,
                              "missing": list(r.report.missing) if r.report else [],
                              "ok": bool(r.report and r.report.ok)} for r in self.rows]}

    def feedback(self, row: Row) -> str:
        """The student's feedback in Markdown: the summary, then one line per answer with its verdict."""
        lines = [f"# Feedback for {self.name(row)}", "", f"Solution: `{row.source}`", ""]
        if row.report is None:
            return "\n".join(lines + [f"Your file could not be marked: {row.error}.", ""])
        lines += [f"**{_num(row.total)} of {_num(self.maximum)} points**: {row.report.summary()}.", ""]
        if row.report.meta.get("missing_text"):
            lines += [f"**Not a pass yet: {row.report.meta['missing_text']}.**", ""]
        if row.report.meta.get("geometry"):  # a stride or padding wrong throughout, said once (geometry_sheet.py)
            lines += [f"**Note on the whole sheet: {row.report.meta['geometry']['note']}.**", ""]
        if row.report.meta.get("hint"):
            lines += [f"> Hint: {row.report.meta['hint']}", ""]
        lines += ["| line | quantity | you wrote | verdict | expected | note |", "|---|---|---|---|---|---|"]
        for r in row.report.results:
            expected = "" if r.expected is None or r.verdict == "correct" else f"{r.expected:.9g}"
            note = _note(r, 9).replace("\n", "; ").replace("|", "\\|")
            lines.append(f"| {r.line or ''} | `{r.name}` | {r.given} | {r.verdict} | {expected} | {note} |")
        return "\n".join(lines) + "\n"

    def feedback_html(self, row: Row) -> str:
        """The same feedback as a self-contained HTML page (for an LMS or e-mail), verdicts in colour."""
        from html import escape

        colours = {"correct": "#1a7f37", "follows": "#0969da", "close": "#9a6700", "wrong": "#cf222e",
                   "unknown": "#8250df", "unanswered": "#57606a", "unreadable": "#8250df"}
        head = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
                f"content='width=device-width, initial-scale=1'><title>Feedback for {escape(self.name(row))}</title>"
                "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}"
                "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;"
                "text-align:left;vertical-align:top}code{font-size:.95em}td.n{white-space:nowrap}</style></head><body>")
        parts = [head, f"<h1>Feedback for {escape(self.name(row))}</h1>", f"<p>Solution: <code>{escape(row.source)}</code></p>"]
        if row.report is None:
            parts.append(f"<p>Your file could not be marked: {escape(str(row.error))}.</p>")
            return "".join(parts) + "</body></html>\n"
        parts.append(f"<p><strong>{_num(row.total)} of {_num(self.maximum)} points</strong>: "
                     f"{escape(row.report.summary())}.</p>")
        if row.report.meta.get("missing_text"):
            parts.append(f"<p><strong>Not a pass yet: {escape(row.report.meta['missing_text'])}.</strong></p>")
        if row.report.meta.get("geometry"):
            parts.append(f"<p><strong>Note on the whole sheet: {escape(row.report.meta['geometry']['note'])}.</strong></p>")
        if row.report.meta.get("hint"):
            parts.append(f"<p><em>Hint: {escape(row.report.meta['hint'])}</em></p>")
        parts.append("<table><tr><th>line</th><th>quantity</th><th>you wrote</th><th>verdict</th>"
                     "<th>expected</th><th>note</th></tr>")
        for r in row.report.results:
            expected = "" if r.expected is None or r.verdict == "correct" else f"{r.expected:.9g}"
            note = "<br>".join(escape(part) for part in _note(r, 9).splitlines())
            parts.append(f"<tr><td>{r.line or ''}</td><td class='n'><code>{escape(r.name)}</code></td>"
                         f"<td class='n'>{escape(r.given)}</td><td style='color:{colours.get(r.verdict, '#000')}'>"
                         f"{escape(r.verdict)}</td><td class='n'>{expected}</td><td>{note}</td></tr>")
        return "".join(parts) + "</table></body></html>\n"

    def write(self, folder: str, force: bool = False) -> list[str]:
        """gradebook.csv, gradebook.json and feedback/<student>.md (and .html) in `folder`; the paths written.
        A file already there with other contents (a gradebook edited by hand) is replaced only with `force`."""
        target = Path(folder)
        if target.exists() and not target.is_dir():
            raise StepgradError("not a folder", where=folder)
        names = file_names([row.student for row in self.rows])
        files = {Path("gradebook.csv"): self.to_csv(), Path("gradebook.json"): json.dumps(self.to_dict(), indent=2) + "\n"}
        for row in self.rows:
            files[Path("feedback") / f"{names[row.student]}.md"] = self.feedback(row)
            files[Path("feedback") / f"{names[row.student]}.html"] = self.feedback_html(row)
        changed = [str(name) for name, text in files.items() if (target / name).exists() and not _same(target / name, text)]
        if changed and not force:
            raise StepgradError(f"{changed[0]}{f' and {len(changed) - 1} more' if len(changed) > 1 else ''} already "
                                "there with other contents (edited by hand, or another class); use --force to "
                                "replace, or another folder", where=folder)
        (target / "feedback").mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            write_atomic(target / name, text)
        return [str(target / "gradebook.csv"), str(target / "gradebook.json"), str(target / "feedback")]


def _same(path: Path, text: str) -> bool:
    try:
        return path.is_file() and not path.is_symlink() and path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def _num(x: float) -> str:
    return f"{x:g}"


def _safe(name: str) -> str:
    """A file name for a student: letters, digits, - _ . only, never hidden, at most about 100 bytes (a long
    name is cut and keeps a short hash of the whole, so two long names stay apart)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".") or "student"
    if len(safe.encode()) > 100:
        digest = hashlib.sha256(name.encode()).hexdigest()[:10]
        safe = safe.encode()[:80].decode(errors="ignore") + "-" + digest
    return safe


def file_names(students: list[str]) -> dict[str, str]:
    """student -> a file name of their own: names that map to one file (`a b`, `a_b`; case alone) are numbered."""
    taken: dict[str, str] = {}
    out: dict[str, str] = {}
    for student in students:
        base = candidate = _safe(student)
        n = 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{base}-{n}"
        taken[candidate.lower()] = student
        out[student] = candidate
    return out


def mark_class(path: str, network_for: Callable[[str], Network | LayerNetwork], *, update_order: str | None = None,
               round_to: int | None = None, rules: Rules | None = None, scheme: Points | None = None,
               names: dict[str, str] | None = None) -> Gradebook:
    """Mark every submission in `path` against `network_for(student)`; the gradebook (`names`: student id
    -> name from a roster, shown in every row and feedback)."""
    scheme = scheme or Points()
    rules = rules or Rules()
    prepared: dict[int, Any] = {}
    rows: list[Row] = []
    for sub in submissions(path):
        rows.append(_mark(sub, network_for, update_order, round_to, rules, scheme, prepared))
    positions: dict[str, int] = {}
    for _, (trace, _other) in prepared.values():
        for step in trace:
            positions.setdefault(step.name, len(positions))
    if len(prepared) > 1:
        _hint_other_exercises(rows, prepared)
    asked = _asked(rows, positions)
    for row in rows:
        for name in asked:
            row.points.setdefault(name, 0.0)
    return Gradebook(rows, asked, scheme, dict(names or {}))


def _mark(sub: Submission, network_for: Callable[[str], Network | LayerNetwork], update_order: str | None,
          round_to: int | None, rules: Rules, scheme: Points, prepared: dict[int, Any]) -> Row:
    if sub.text is None:
        return Row(sub.student, sub.source, None, {}, sub.error)
    try:
        net = network_for(sub.student)
        key = id(net)
        if key not in prepared:
            prepared[key] = (net, traces(net, update_order, round_to))  # net kept: its id stays unique
        solution = loads(sub.text, _format_of(sub.source, sub.text), sub.source, lenient=True)
        report = check(net, solution, update_order, round_to, rules, prepared=prepared[key][1])
    except StepgradError as exc:
        return Row(sub.student, sub.source, None, {}, exc.message)
    points = {r.name: scheme.earned(r.name, r.verdict) for r in report.results
              if r.verdict not in ("unknown", "unreadable")}
    return Row(sub.student, sub.source, report, points, solution=solution, network=key)


def _hint_other_exercises(rows: list[Row], prepared: dict[int, Any]) -> None:
    """A hint for a student whose values fit a classmate's exercise clearly better than their own
    (handed in someone else's numbers): the same rule as check's hint, over the class's networks."""
    owner = {row.network: row.student for row in rows if row.report is not None}
    for row in rows:
        if row.report is None or row.solution is None:
            continue
        correct, answered = row.report.counts["correct"], row.report.answered
        if answered - correct < 3:
            continue
        best: tuple[int, str] | None = None
        for key, (net, traced) in prepared.items():
            if key == row.network:
                continue
            exact = build(net, row.solution, prepared=traced).exact
            right = sum(matches(g, exact[g.name]) for g in row.solution if g.name in exact)
            if right >= correct + max(3, answered // 4) and (best is None or right > best[0]):
                best = (right, owner.get(key, "another student"))
        if best:
            row.report.meta["hint"] = (f"these values fit the exercise of {best[1]} better ({best[0]} of {answered} "
                                       f"correct there, {correct} here): someone else's numbers?")


def _asked(rows: list[Row], positions: dict[str, int]) -> list[str]:
    """The gradebook's columns: every name a student answered, left blank or was required to answer
    (Rules.required), in derivation order."""
    asked = {r.name for row in rows if row.report is not None for r in row.report.results
             if r.verdict not in ("unknown", "unreadable") and r.line}
    asked |= {name for row in rows if row.report is not None for name in row.report.missing}  # required, not written
    return sorted(asked, key=lambda name: positions.get(name, len(positions)))


def iter_students(roster: str) -> Iterator[tuple[str, str]]:
    """(student id, name) from a roster CSV with an `id` column (or `student`), and optionally `name`."""
    rows = list(csv.DictReader(io.StringIO(read_text(roster).lstrip("\ufeff"))))
    if not rows:
        raise StepgradError("the roster has no students", where=roster)
    key = next((k for k in ("id", "student", "student_id") if k in rows[0]), None)
    if key is None:
        raise StepgradError(f"expected a column 'id' (or 'student'), got {', '.join(rows[0])}", where=roster)
    seen: set[str] = set()
    for number, row in enumerate(rows, start=2):
        sid = (row[key] or "").strip()
        if not sid:
            raise StepgradError("a student without an id", where=f"{roster}: line {number}")
        if sid in seen:
            raise StepgradError(f"student {sid!r} is listed twice", where=f"{roster}: line {number}")
        seen.add(sid)
        yield sid, (row.get("name") or sid).strip()
