"""Marking an answer to a find-the-error sheet: per planted mistake, the line found, the mistake named, the value corrected.

    >>> from stepgrad.teach.exercise import generate
    >>> from stepgrad.teach.find_error import plant
    >>> sheet = plant(generate(seed=7), keys=("learning_rate",))
    >>> p = sheet.planted[0]
    >>> score = mark(sheet.key(), f"line = {p.line}\\nmistake = learning rate\\ncorrected = {p.corrected:.6g}\\n")
    >>> score.points, score.total
    (3, 3)

A corrected value is `right` when it is the line's formula on the lines printed above it (at the precision
written, at least ANSWER_DIGITS significant digits). With several mistakes, a later line may also be corrected
the way a student who fixed the earlier lines computes it: from their own corrected values, every line between
recomputed from them (a slip in an earlier correction carried forward): `follows`, and it earns the point, as
`stepgrad check` gives credit for an error carried forward. This needs the network (`mark(..., network=...)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stepgrad.core.errors import StepgradError
from stepgrad.core.spec import Network
from stepgrad.teach.check.context import build
from stepgrad.teach.check.precision import matches, significant_digits
from stepgrad.teach.check.solution import Given, loads
from stepgrad.teach.find_error import ANSWER_DIGITS, catalogue

CREDITED = ("right", "follows")  # corrected-value verdicts that earn the point


@dataclass(frozen=True)
class Score:
    """The marks of one answer: per planted mistake, line found, mistake named, corrected value right."""

    rows: tuple[dict[str, Any], ...]

    @property
    def points(self) -> int:
        return sum(r["line_found"] + r["mistake_named"] + r["corrected_right"] for r in self.rows)

    @property
    def total(self) -> int:
        return 3 * len(self.rows)

    @property
    def ok(self) -> bool:
        return self.points == self.total

    def lines(self) -> list[str]:
        """One line per planted mistake: what was found, named and corrected, and what was missed."""
        out = []
        for k, r in enumerate(self.rows, 1):
            line = "found" if r["line_found"] else f"not found (it is line {r['line']}, {r['name']})"
            named = "named" if r["mistake_named"] else f"not named (it is: {r['label']})"
            value = {"right": "right", "follows": f"right from your own corrected {r['used']}",
                     "few digits": f"needs at least {ANSWER_DIGITS} significant digits",
                     "blank": "not right (blank)"}.get(r["corrected"], "not right")
            out.append(f"mistake {k}: line {line}; mistake {named}; corrected value {value}")
        return out

    def text(self) -> str:
        return "\n".join([f"find the error: {self.points} of {self.total} points", *self.lines()]) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"points": self.points, "total": self.total, "ok": self.ok, "mistakes": list(self.rows)}


def valid_key(key: Any) -> bool:
    """The shape find-error.json has: the numbered lines and each planted mistake's line, name, key, label, value."""
    if not isinstance(key, dict) or key.get("find_error") != 1 or not isinstance(key.get("lines"), list) \
            or not all(isinstance(n, str) for n in key["lines"]) or not isinstance(key.get("planted"), list) \
            or not key["planted"]:
        return False
    fields: dict[str, type | tuple[type, ...]] = {"line": int, "name": str, "key": str, "label": str,
                                                  "corrected": (int, float)}
    return all(isinstance(p, dict) and all(isinstance(p.get(f), t) and not isinstance(p.get(f), bool)
                                           for f, t in fields.items()) for p in key["planted"])


def read_answer(text: str, source: str) -> dict[str, str]:
    """'line 2 = 14' lines -> {"line 2": "14"} (names lower-cased, spaces normalised)."""
    found: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=" not in line:
            raise StepgradError(f"line {number}: expected 'line = ...', 'mistake = ...' or 'corrected = ...'", where=source)
        name, value = (part.strip() for part in line.split("=", 1))
        found[" ".join(name.lower().split())] = value
    return found


def named(text: str, kind: str = "dense") -> str | None:
    """The catalogue key a student's 'mistake = ...' names: a key, a label, or a number in the sheet's list (the
    catalogue of the sheet's kind of network: "dense" or "layers")."""
    t = " ".join(text.lower().replace("_", " ").split())
    mistakes = catalogue(kind)
    if t.isdigit() and 1 <= int(t) <= len(mistakes):
        return mistakes[int(t) - 1].key
    for m in mistakes:
        if t and t in (m.key.replace("_", " "), m.label.lower(), m.label.lower().split(" (")[0]):
            return m.key
    return None


def _number(name: str, text: str, source: str) -> Given | None:
    parsed = loads(f"{name} = {text}", "text", source, lenient=True)
    return parsed.answers[0] if parsed.answers else None


def _carried(key: dict[str, Any], network: Network, k: int, corrections: list[Given | None]) -> float | None:
    """Planted line k as a student computes it who replaced each earlier planted line by their own correction and
    recomputed every line after the first planted one from it (None without the sheet's values or for the first)."""
    shown, planted, lines = key.get("shown"), key["planted"], key["lines"]
    if k == 0 or not isinstance(shown, dict):
        return None
    mine = {name: float(shown[name]) for name in lines[:planted[0]["line"] - 1] if name in shown}
    mine |= {planted[j]["name"]: corrections[j].value for j in range(k) if corrections[j] is not None}  # type: ignore[union-attr]
    text = "\n".join(f"{name} = {value!r}" for name, value in mine.items())
    world = build(network, loads(text, "text", "<find-error>"), None, key.get("round"))
    value = world.own.get(planted[k]["name"])
    return None if value is None else float(value)


def mark(key: dict[str, Any], answer: str, source: str = "<answer>", network: Network | None = None) -> Score:
    """The marks of a find-the-error answer against the sheet's key (find-error.json); with the sheet's `network`,
    a later corrected value carried forward from the student's own earlier corrections is credited (`follows`)."""
    given = read_answer(answer, source)
    lines: list[str] = key["lines"]
    planted = key["planted"]
    kind = str(key.get("catalogue", "dense"))  # the sheet's catalogue (find_error.catalogue)
    rows = []
    corrections: list[Given | None] = []
    for k, p in enumerate(planted):
        suffix = "" if len(planted) == 1 else f" {k + 1}"
        where = given.get(f"line{suffix}", "").strip()
        line_found = where == str(p["line"]) or where == p["name"] or (where.isdigit() and 0 < int(where) <= len(lines)
                                                                        and lines[int(where) - 1] == p["name"])
        corrected_text = given.get(f"corrected{suffix}", "")
        number = _number(p["name"], corrected_text, source) if corrected_text else None
        corrections.append(number)
        verdict, used = ("blank" if not corrected_text else "wrong"), ""
        if number is not None:
            carried = _carried(key, network, k, corrections) if network is not None else None
            if matches(number, p["corrected"]):
                verdict = "right"
            elif carried is not None and matches(number, carried):
                verdict = "follows"
                used = ", ".join(f"line {planted[j]['line']} ({planted[j]['name']} = {corrections[j].text})"  # type: ignore[union-attr]
                                 for j in range(k) if corrections[j] is not None) or "lines"
            exact = float(carried if verdict == "follows" and carried is not None else p["corrected"])
            if verdict in CREDITED and significant_digits(number) < ANSWER_DIGITS and \
                    abs(number.value - exact) > 1e-12 * abs(exact):  # 0.45 for 0.45 is right; 0.5 for 0.4567 is not
                verdict = "few digits"
        rows.append({"line": p["line"], "name": p["name"], "key": p["key"], "label": p["label"],
                     "line_found": line_found, "given_line": where,
                     "mistake_named": named(given.get(f"mistake{suffix}", ""), kind) == p["key"],
                     "given_mistake": given.get(f"mistake{suffix}", ""), "corrected_right": verdict in CREDITED,
                     "corrected": verdict, "used": used, "given_corrected": corrected_text})
    return Score(tuple(rows))
