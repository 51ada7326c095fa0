"""Content hashes, cache keys and manifest files for cached artifacts (fine-tuned models).

Reads and hashes; never trains. Writing a whole artifact atomically is the caller's job.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from harness.data.tasks.base import TaskData
from harness.errors import UsageError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
WEIGHT_SUFFIXES = (".safetensors", ".bin")
_CHUNK_BYTES = 1 << 20
T = TypeVar("T")


class CacheCorruptError(UsageError):
    """A cache entry exists but its manifest is missing or unreadable."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def weights_sha256(checkpoint_dir: Path) -> str:
    """sha256 over the checkpoint's weight files (name and content, sorted by name)."""
    files = sorted(p for p in checkpoint_dir.iterdir() if p.suffix in WEIGHT_SUFFIXES)
    if not files:
        raise CacheCorruptError(f"{checkpoint_dir}: no weight files ({WEIGHT_SUFFIXES})")
    if len(files) == 1:
        return file_sha256(files[0])
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}:{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def task_data_sha256(data: TaskData) -> str:
    """sha256 of the loaded examples and label names: independent of where the files live."""
    digest = hashlib.sha256(json.dumps([data.kind, list(data.label_names)]).encode())
    for split in (data.train, data.dev):
        digest.update(b"\x00split\x00")
        for example in split:
            digest.update(json.dumps(dataclasses.asdict(example), sort_keys=True).encode())
            digest.update(b"\n")
    return digest.hexdigest()


def key_of(content: dict[str, Any], length: int = 16) -> str:
    """Short stable hash of a JSON-serialisable dict."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:length]


def subset(examples: Sequence[T], limit: int | None, seed: int) -> Sequence[T]:
    """The first `limit` examples of a seeded permutation (all of them, in order, when None)."""
    if limit is None or limit >= len(examples):
        return examples
    order = np.random.default_rng(seed).permutation(len(examples))[:limit]
    return [examples[i] for i in sorted(order)]


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("torch", "transformers", "tokenizers", "numpy"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def make_temp_dir(folder: Path) -> Path:
    """A fresh temp dir inside `folder`, named after this process so strays can be swept."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".tmp-{os.getpid()}-", dir=folder))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_temp_dirs(folder: Path) -> list[Path]:
    """Remove temp dirs left by processes that were killed mid-write; return what was removed."""
    removed = []
    for path in folder.glob(".tmp-*-*") if folder.is_dir() else []:
        pid = path.name.split("-")[1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    if removed:
        log.info("removed %d stale temp dirs from %s", len(removed), folder)
    return removed


@contextlib.contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temp dir beside `final`; rename it to `final` on success, delete it on error.

    Readers therefore see either no entry or a complete one. If a parallel run published
    `final` first, its entry wins and this copy is discarded.
    """
    sweep_stale_temp_dirs(final.parent)
    temp = make_temp_dir(final.parent)
    try:
        yield temp
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    try:
        temp.chmod(0o755)  # mkdtemp makes it private; a cache entry is for every reader
        os.rename(temp, final)
    except OSError:
        shutil.rmtree(temp, ignore_errors=True)
        if not (final / MANIFEST).is_file():
            raise
        log.info("%s was cached by a parallel run; discarding this copy", final)


def write_json(path: Path, content: dict[str, Any]) -> None:
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_manifest(entry: Path) -> dict[str, Any]:
    """The manifest of a cache entry; CacheCorruptError (saying to delete it) otherwise."""
    try:
        content = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise CacheCorruptError(
            f"cache entry {entry} has no readable {MANIFEST} ({error}); delete the folder"
        ) from error
    if not isinstance(content, dict):
        raise CacheCorruptError(f"{entry / MANIFEST} is not a JSON object; delete the folder")
    return content
