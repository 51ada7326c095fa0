"""A sweep killed at any moment (SIGKILL, even in the middle of writing its results) or stopped
by SIGTERM loses no finished point: the JSON is whole, the CSV does not lag it, and `--resume`
finishes the rest."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.results.lock import lock_path
from tests.faults.helpers import (
    assert_clean_failure,
    has_points,
    results_files,
    run_main,
    smoke_argv,
    start_cli,
    stop,
    stored_points,
    wait_for,
)

pytestmark = pytest.mark.slow  # child processes running sweeps

ALL_POINTS = ["dense@1.0", "kprune@0.6", "kprune@0.3"]

STALL_IN_REPLACE = """
import os, sys, time
from pathlib import Path
from harness.results import atomic_files
from harness.cli import main

real_replace, marker, calls = os.replace, Path(sys.argv[1]), []

def stalling_replace(source, target):
    # the 2nd rewrite of the results JSON: point 2's CSV is in place, its JSON not yet
    if str(target).endswith("_smoke.json"):
        calls.append(target)
        if len(calls) == 2:
            marker.write_text("stalled")
            time.sleep(600)
    real_replace(source, target)

atomic_files.os.replace = stalling_replace
sys.exit(main(sys.argv[2:]))
"""


def _csv_keys(path: Path) -> list[tuple[str, str]]:
    with path.with_suffix(".csv").open(newline="") as handle:
        return [(row["method"], row["target_flops_ratio"]) for row in csv.DictReader(handle)]


def _resume_completes(out: Path, path: Path, before: list[str], capsys) -> None:
    assert run_main(smoke_argv(out, "--resume"), capsys)[0] == 0
    assert results_files(out) == [path]
    after = stored_points(path)
    assert after[: len(before)] == before and sorted(after) == sorted(ALL_POINTS)
    assert len(_csv_keys(path)) == len(ALL_POINTS)  # one torch row per point
    assert not list(path.parent.glob(".*.tmp")) and not lock_path(path).exists()


def test_sigkill_in_the_middle_of_writing_results(tmp_path: Path, capsys):
    out, marker = tmp_path / "results", tmp_path / "stalled"
    script = tmp_path / "stall.py"
    script.write_text(STALL_IN_REPLACE)
    child = subprocess.Popen(
        [sys.executable, str(script), str(marker), *smoke_argv(out)],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(marker.exists, child, "the stalled write")
    stop(child, signal.SIGKILL)
    (path,) = results_files(out)
    before = stored_points(path)
    assert before == ["dense@1.0"]  # the JSON is the last whole version
    # the CSV is never behind the JSON (here one point ahead: it is replaced first)
    assert _csv_keys(path) == [("dense", "1.0"), ("kprune", "0.6")]
    _resume_completes(out, path, before, capsys)


def test_sigkill_after_a_point(tmp_path: Path, capsys):
    out = tmp_path / "results"
    child = start_cli(smoke_argv(out), tmp_path)
    wait_for(has_points(out, 1), child, "the first point")
    stop(child, signal.SIGKILL)
    (path,) = results_files(out)
    before = stored_points(path)
    assert before and before == ALL_POINTS[: len(before)]
    _resume_completes(out, path, before, capsys)


def test_sigterm_ends_with_a_message_and_keeps_the_points(tmp_path: Path, capsys):
    out = tmp_path / "results"
    child = start_cli(smoke_argv(out), tmp_path)
    wait_for(has_points(out, 1), child, "the first point")
    err = stop(child, signal.SIGTERM)
    if child.returncode == 0:
        pytest.skip("the sweep finished before SIGTERM arrived")
    assert_clean_failure(child.returncode, err, "stopped by SIGTERM", "--resume", expected=1)
    (path,) = results_files(out)
    before = stored_points(path)
    assert before and not lock_path(path).exists()  # unwound: lock released
    _resume_completes(out, path, before, capsys)
