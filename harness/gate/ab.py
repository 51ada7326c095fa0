"""`--ab REF`: the baseline is another commit, swept in this job. Its tree is unpacked with
`git archive` into a work folder (read-only for the checkout: no worktree, index or HEAD is
touched) and swept there in a child process whose imports resolve to that tree.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

from harness.errors import HarnessError, UsageError

log = logging.getLogger(__name__)


class RefSweepError(HarnessError):
    """The sweep of the baseline ref failed; the gate records it as a missing baseline."""


def unpack_ref(ref: str, into: Path, repo: Path | None = None) -> Path:
    """The files of `ref` (a commit, tag or branch) under `into/tree`."""
    command = ["git", "--no-optional-locks", "archive", "--format=tar", ref]
    done = subprocess.run(command, cwd=repo, capture_output=True, check=False)
    if done.returncode != 0:
        raise UsageError(
            f"--ab {ref}: git archive failed ({done.stderr.decode(errors='replace').strip()}); "
            "name a commit, tag or branch of this checkout"
        )
    tree = into / "tree"
    tree.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(tree, filter="data")
    return tree


def sweep_ref(
    ref: str, config: str, overrides: Sequence[str], work: Path, repo: Path | None = None
) -> Path:
    """Sweep `config` (a preset name, or a .toml path) with the code of `ref`; its run file."""
    tree = unpack_ref(ref, work, repo)
    if Path(config).suffix == ".toml":
        config = str(Path(config).resolve())
    results, artifacts = work / "bench_results", work / "bench_artifacts"
    # gate settings do not change a sweep, and an older ref's schema may not know them
    kept = [override for override in overrides if not override.strip().startswith("gate.")]
    sets = [item for override in kept for item in ("--set", override)]
    command = [sys.executable, "-m", "harness", "--no-progress", "-q", "sweep", config, *sets]
    command += ["--out", str(results), "--artifacts", str(artifacts), "--no-plots"]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    log.info("sweeping %s at %s in %s", config, ref, tree)
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    found = sorted(results.rglob("[0-9]*_*.json"))
    if done.returncode != 0 or not found:
        raise RefSweepError(
            f"the sweep of {config} at {ref} exited with {done.returncode}; stderr tail:\n"
            f"{done.stderr[-2000:]}"
        )
    return found[-1]
