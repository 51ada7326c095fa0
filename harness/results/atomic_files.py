"""Atomic file writes: a temp file in the target folder, then `os.replace` (readers never see a
half-written file) or `os.link` (a numbered file is never taken twice, even by a parallel writer).

Files get the user's umask (0666 & ~umask), like any file the user creates. A temp file is named
`.<target>.<pid>-<random>.tmp`, so one left by a killed writer can be recognised and removed.
Knows nothing about what the files contain.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.errors import UsageError

log = logging.getLogger(__name__)

_NUMBERED = re.compile(r"^(\d{4})_")
_TEMP = re.compile(r"^\..+\.(\d+)-[0-9a-f]{8}\.tmp$")

_ADVICE = {
    errno.ENOSPC: "free space on that filesystem",
    errno.EDQUOT: "free space within your disk quota",
    errno.EFBIG: "free space or choose another folder",
    errno.EROFS: "make that filesystem writable or choose another folder",
    errno.EACCES: "make that folder writable or choose another folder",
    errno.EPERM: "make that folder writable or choose another folder",
    errno.ENAMETOOLONG: "use a shorter config name or folder path",
    errno.ENOTDIR: "a part of that path is a file, not a folder: choose another folder",
}
"""What the user can do about each way writing a file fails for reasons outside the harness."""


class StorageError(UsageError):
    """A file could not be written: no space, read-only, not permitted or a name too long."""


def storage_cause(error: BaseException | None) -> OSError | None:
    """The OSError in `error` or its causes that says the storage refused a write, if any."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OSError) and error.errno in _ADVICE:
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def storage_error(cause: OSError, then: str, folders: str = "its folder") -> StorageError:
    """The StorageError naming the file (else `folders`), the problem, the way out and `then`
    (what to do next)."""
    where = cause.filename or f"a file in {folders}"
    advice = _ADVICE.get(cause.errno or 0, "fix the folder")
    return StorageError(f"cannot write {where}: {cause.strerror}; {advice}, then {then}")


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink(missing_ok=True)
    except OSError as error:  # the error being handled is the one to report
        log.warning("could not remove the temp file %s (%s)", tmp, error)


def _temp_with(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        # O_EXCL with mode 0o666: the kernel applies the umask (mkstemp would force 0600).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except OSError as error:  # name the file being written, not its temp (write() names none)
        _discard(tmp)
        raise OSError(error.errno, error.strerror, str(folder / name)) from error
    except BaseException:
        _discard(tmp)
        raise
    return tmp


def replace_texts(files: Sequence[tuple[Path, str]]) -> None:
    """Write every (path, text) to a temp file first, then replace the targets in order.

    Nothing is replaced unless every text was written, so a full disk leaves all targets as
    they were; only the renames (no space needed) separate the first target from the last.
    """
    temps: list[Path] = []
    try:
        for path, text in files:
            temps.append(_temp_with(path.parent, path.name, text))
        for tmp, (path, _) in zip(temps, files, strict=True):
            os.replace(tmp, path)
    finally:
        for tmp in temps:
            _discard(tmp)


def replace_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (replacing any previous version)."""
    replace_texts([(path, text)])
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def remove_stale_temps(folder: Path) -> list[Path]:
    """Remove temp files left in `folder` by writers that no longer run; return them."""
    removed = []
    for path in folder.glob(".*.tmp") if folder.is_dir() else []:
        match = _TEMP.match(path.name)
        if match is not None and not _pid_alive(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        log.info("removed %d temp files of killed writers from %s", len(removed), folder)
    return removed


def next_number(folder: Path, suffix: str) -> int:
    """1 + the largest NNNN of ``NNNN_*<suffix>`` files in ``folder`` (1 when none)."""
    numbers = [
        int(match.group(1))
        for p in folder.glob(f"*{suffix}")
        if (match := _NUMBERED.match(p.name)) is not None
    ]
    return max(numbers, default=0) + 1


def create_numbered(folder: Path, name_for: Callable[[int], str], text: str) -> Path:
    """Create ``folder/name_for(n)`` with the next free number n; never overwrites a file."""
    suffix = Path(name_for(0)).suffix
    tmp = _temp_with(folder, "new" + suffix, text)
    try:
        number = next_number(folder, suffix)
        while True:
            path = folder / name_for(number)
            try:
                os.link(tmp, path)
                return path
            except FileExistsError:
                number += 1
    finally:
        tmp.unlink(missing_ok=True)


def check_writable_folder(
    folder: Path, label: str = "output folder", min_free_bytes: int = 0
) -> int:
    """Free bytes of `folder`'s filesystem; UsageError unless `folder` is (or can be created as)
    a writable folder with at least `min_free_bytes` free. Creates nothing beyond a probe file
    it deletes at once."""
    import shutil
    import tempfile

    existing = Path(folder)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(
            f"{label} {str(folder)!r}: {str(existing)!r} is a file, not a folder; choose "
            "another folder or move the file away"
        )
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise UsageError(
            f"{label} {str(folder)!r} is not writable ({error.strerror}); choose a writable "
            "folder or fix its permissions"
        ) from error
    free = shutil.disk_usage(existing).free
    if free < min_free_bytes:
        raise UsageError(
            f"{label} {str(folder)!r}: only {free / 2**20:.1f} MiB free on its filesystem "
            f"(this needs {min_free_bytes // 2**20} MiB); free space or choose another folder"
        )
    return free
