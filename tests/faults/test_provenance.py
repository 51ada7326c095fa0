"""The recorded commit is the harness code's own, wherever the sweep is started from; the
working directory's repository is only a labelled extra; an installed copy names its version."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import harness
from harness.results.environment import code_provenance, collect_environment
from harness.results.records import BenchmarkRun, run_file_stem

CODE = Path(harness.__file__).resolve().parent


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _other_repo(folder: Path) -> str:
    folder.mkdir()
    _git("init", "-q", cwd=folder)
    (folder / "a.txt").write_text("other project")
    _git("add", "a.txt", cwd=folder)
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    _git(*identity, "commit", "-q", "-m", "other", cwd=folder)
    return _git("rev-parse", "HEAD", cwd=folder)


@pytest.mark.slow  # git subprocesses
def test_the_commit_is_the_codes_own_and_the_cwd_repo_is_labelled(tmp_path):
    own = _git("rev-parse", "HEAD", cwd=CODE)
    other = _other_repo(tmp_path / "other")
    inside = collect_environment(tmp_path / "other")
    assert inside["commit"] == own and inside["code_source"] == "checkout"
    assert inside["cwd_commit"] == other != own
    outside = collect_environment(tmp_path)  # not a repository at all
    assert outside["commit"] == own and outside["cwd_commit"] is None


@pytest.mark.slow
def test_an_installed_copy_is_named_by_its_version(tmp_path):
    copy = tmp_path / "site-packages" / "harness"
    shutil.copytree(CODE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    facts = code_provenance(copy)
    assert facts["commit"] is None and facts["code_source"] == "installed"
    assert facts["code_version"]  # this checkout is installed (editable) as kprune-bench
    run = BenchmarkRun(config={"name": "smoke"}, environment={**facts, "machine_id": "m"})
    assert run_file_stem(run, 1) == f"0001_v{facts['code_version']}_smoke"
