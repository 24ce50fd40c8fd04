"""Reading and writing the files users give and get: one clear error line, never a half-written file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import StepgradError


def read_text(path: str | os.PathLike, error: type[StepgradError] = StepgradError, encoding: str = "utf-8") -> str:
    """The file's text; a missing or unreadable file raises `error` naming the path."""
    try:
        return Path(path).read_text(encoding=encoding)
    except FileNotFoundError:
        raise error("no such file", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read: {exc}", where=str(path)) from None


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write via a temporary file in the same folder and rename: never a half-written file."""
    target = Path(path)
    if target.exists() and not target.is_file():
        # A device or pipe (/dev/stdout, a FIFO): there is nothing to replace, write straight to it.
        with open(target, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return
    if target.parent and not target.parent.exists():
        raise StepgradError("folder does not exist", where=str(target.parent))
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        os.chmod(tmp, target.stat().st_mode & 0o7777 if target.exists() else 0o644)
        with os.fdopen(fd, mode, encoding=None if isinstance(data, bytes) else "utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
