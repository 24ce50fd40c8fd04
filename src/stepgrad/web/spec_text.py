"""The spec as a TOML file, laid out like the shipped examples (arrays on one line, samples as
[[samples]] tables), so a network downloaded from the page reads like one written by hand."""

from __future__ import annotations

import json
from typing import Any


def to_toml(spec: dict[str, Any]) -> str:
    """A spec dictionary (Network.to_dict()) as TOML text that tomllib reads back to the same data."""
    scalars = {k: v for k, v in spec.items() if not _is_table(v) and not _is_table_list(v)}
    lines = [f"{_key(k)} = {_value(v)}" for k, v in scalars.items()]
    for k, v in spec.items():
        if _is_table(v):
            lines += ["", f"[{_key(k)}]"] + [f"{_key(kk)} = {_value(vv)}" for kk, vv in v.items()]
        elif _is_table_list(v):
            for table in v:
                lines += ["", f"[[{_key(k)}]]"] + [f"{_key(kk)} = {_value(vv)}" for kk, vv in table.items()]
    return "\n".join(lines) + "\n"


def _is_table(v: Any) -> bool:
    return isinstance(v, dict)


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)  # shortest round-trip form; specs never hold NaN or inf
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")
