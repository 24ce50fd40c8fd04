"""Reading and writing the files users give and get: one clear error line, never a half-written file.

A file is written to a temporary file beside it and renamed into place, so a killed save leaves the
previous file whole. The temporary file is locked while it is written; the next save into the same
folder removes temporary files nobody holds any more (left by a save that was killed).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from stepgrad.core.errors import StepgradError

try:  # the lock that tells a live save from a killed one (POSIX); elsewhere stale files stay
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

NAME_LIMIT = 255  # bytes in one file name on common file systems (ext4, APFS, NTFS)
TEMP_MARK = ".stepgrad-"  # temporary files are .stepgrad-<up to 64 characters of the name>.<random>.tmp


MAX_READ_BYTES = 256_000_000  # no spec, solution, roster or saved network is anywhere near this


def read_text(path: str | os.PathLike, error: type[StepgradError] = StepgradError, encoding: str = "utf-8") -> str:
    """The file's text; a missing, unreadable or endless file (beyond MAX_READ_BYTES) raises `error` naming the path."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_READ_BYTES + 1)
        if len(data) > MAX_READ_BYTES:
            raise error(f"larger than {MAX_READ_BYTES // 1_000_000} MB: not a file stepgrad reads", where=str(path))
        return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")  # universal newlines, as open() reads
    except FileNotFoundError:
        raise error("no such file", where=str(path)) from None
    except UnicodeDecodeError as exc:
        if data.startswith(b"PK\x03\x04") and Path(path).suffix.lower() in (".pt", ".pth"):  # torch.save's zip
            raise error(f"a PyTorch file, not a spec: make it one with stepgrad import {path} --like SPEC -o net.toml "
                        "(it keeps the torch names)", where=str(path)) from None
        raise error(f"cannot read: {_reason(exc)}", where=str(path)) from None
    except OSError as exc:
        raise error(f"cannot read: {_reason(exc)}", where=str(path)) from None
    except MemoryError:
        raise error("too large to read into memory", where=str(path)) from None


def read_stdin(limit: int = MAX_READ_BYTES) -> str:
    """Standard input's text, at most `limit` bytes (an endless pipe is refused, not read into memory)."""
    data = sys.stdin.buffer.read(limit + 1) if hasattr(sys.stdin, "buffer") else sys.stdin.read(limit + 1).encode()
    if len(data) > limit:
        raise StepgradError(f"more than {limit // 1_000_000} MB on standard input", where="<stdin>")
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise StepgradError(f"cannot read: {exc.reason} (expected UTF-8 text)", where="<stdin>") from None


def check_writable(path: str | os.PathLike, where: str | None = None) -> None:
    """StepgradError unless `path` can be written: an existing folder to put it in, a file name that fits
    the file system, and not a folder itself. Called before the work whose result goes there."""
    target = Path(path)
    where = where or str(path)
    if any(len(os.fsencode(part)) > NAME_LIMIT for part in target.parts):
        raise StepgradError(f"a file or folder name longer than {NAME_LIMIT} bytes", where=where)
    if _exists(target) and not target.is_file():
        if target.is_dir():
            raise StepgradError(f"{path} is a folder, not a file", where=where)
        return  # a device or pipe (/dev/stdout)
    folder = target.parent
    if not folder.is_dir():
        raise StepgradError(f"folder {str(folder)!r} does not exist", where=where)
    try:  # the one sure test: make (and remove) the temporary file the save will make
        fd, probe = tempfile.mkstemp(prefix=f"{TEMP_MARK}{target.name[:64]}.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StepgradError(f"cannot write there: {_reason(exc)}", where=where) from None


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write via a temporary file in the same folder and rename: never a half-written file."""
    target = Path(path)
    if _exists(target) and not target.is_file():
        if target.is_dir():
            raise StepgradError("is a folder, not a file", where=str(target))
        # A device or pipe (/dev/stdout, a FIFO): there is nothing to replace, write straight to it.
        try:
            with open(target, "wb" if isinstance(data, bytes) else "w") as f:
                f.write(data)
        except OSError as exc:
            raise StepgradError(f"cannot write: {_reason(exc)}", where=str(target)) from None
        return
    if target.parent and not _exists(target.parent):
        raise StepgradError("folder does not exist", where=str(target.parent))
    folder = target.parent or Path(".")
    remove_stale(folder)
    try:
        _replace(target, folder, data)
    except OSError as exc:
        raise StepgradError(f"cannot write: {_reason(exc)}", where=str(target)) from None


def _replace(target: Path, folder: Path, data: str | bytes) -> None:
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_MARK}{target.name[:64]}.", suffix=".tmp", dir=folder)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.chmod(tmp, target.stat().st_mode & 0o7777 if target.exists() else 0o644)
        with os.fdopen(fd, mode, encoding=None if isinstance(data, bytes) else "utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            os.replace(tmp, target)  # still locked: a concurrent cleaner leaves it alone
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_stale(folder: Path) -> list[str]:
    """Remove the temporary files of killed saves in `folder` (those no live save holds locked)."""
    if fcntl is None:
        return []
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if not (entry.name.startswith(TEMP_MARK) and entry.name.endswith(".tmp") and entry.is_file()):
                continue
            with contextlib.suppress(OSError):
                fd = os.open(entry.path, os.O_RDONLY)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while its save is alive
                    os.unlink(entry.path)
                    removed.append(entry.name)
                finally:
                    os.close(fd)
    return removed


def _exists(path: Path) -> bool:
    """Path.exists, but a name the system cannot even look up (too long) is a StepgradError."""
    try:
        return path.exists()
    except OSError as exc:
        raise StepgradError(f"cannot use this path: {_reason(exc)}", where=str(path)) from None


def _reason(exc: BaseException) -> str:
    """The OS's words for an error, without the path (the caller names it)."""
    return getattr(exc, "strerror", None) or str(exc)
