"""An exclusive lock on one results file for the whole time a sweep writes it.

The lock is `flock` on a hidden `.<results name>.lock` file beside it, which holds the holder's
pid so that a second writer can name it. The kernel releases the lock when the holder exits,
even when it is killed, so a stale lock file never blocks anyone. Never waits: a second writer
fails at once with `ResultsLockedError` (exit 2). Knows nothing about what the results hold.
"""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError

log = logging.getLogger(__name__)

_ATTEMPTS = 5
"""Retries when the lock file is replaced between opening and locking it (a holder releasing)."""


class ResultsLockedError(UsageError):
    """Another process is writing the same results file right now."""


def lock_path(results: Path) -> Path:
    """`<folder>/.<results file name>.lock`: hidden, so no results reader ever picks it up."""
    return results.with_name(f".{results.name}.lock")


@dataclass
class ResultsLock:
    """A held lock; `release` (or leaving the `with` block) frees it and removes the file."""

    results: Path
    fd: int | None

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            # Unlink while still holding it: whoever opened the old file rechecks the inode.
            lock_path(self.results).unlink(missing_ok=True)
        except OSError as error:  # a folder turned read-only: a stale lock file blocks no one
            log.warning("could not remove the lock file %s (%s)", lock_path(self.results), error)
        finally:
            os.close(self.fd)  # closing the last descriptor releases the flock
            self.fd = None

    def __enter__(self) -> ResultsLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    return f"pid {text}" if text.isdigit() else "another process"


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _try_lock(results: Path, path: Path) -> int | None:
    """The locked descriptor of `path`, None when the file was replaced meanwhile (retry)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise ResultsLockedError(
            f"{results} is being written by another sweep ({holder}); wait for it to finish "
            f"or stop it, then rerun with --resume (lock file: {path})"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    if not _same_file(fd, path):
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return fd


def acquire(results: Path) -> ResultsLock:
    """Lock `results` for this process; `ResultsLockedError` naming the holder's pid if taken."""
    path = lock_path(results)
    for _ in range(_ATTEMPTS):
        fd = _try_lock(results, path)
        if fd is not None:
            log.debug("locked %s", path)
            return ResultsLock(results, fd)
    raise ResultsLockedError(
        f"{results}: its lock file {path} kept changing while it was being taken; another "
        "sweep is starting or stopping on it, so try again in a moment"
    )
