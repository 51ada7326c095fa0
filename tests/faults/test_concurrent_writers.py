"""One writer per results file: a second sweep on the same file (two `--resume` at once) exits 2
naming the holder's pid, and the first one finishes with every point; a killed holder never
leaves the file locked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.results.lock import ResultsLockedError, acquire, lock_path
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

ALL_POINTS = ["dense@1.0", "kprune@0.6", "kprune@0.3"]


def test_a_second_lock_names_the_holder_and_a_released_lock_is_free(tmp_path: Path):
    results = tmp_path / "0001_abc_x.json"
    with acquire(results):
        assert lock_path(results).read_text().strip() == str(os.getpid())
        with pytest.raises(ResultsLockedError, match=f"pid {os.getpid()}.*--resume"):
            acquire(results)
    assert not lock_path(results).exists()  # released and removed
    acquire(results).release()


@pytest.mark.slow  # a child process
def test_a_killed_holder_leaves_no_lock_behind(tmp_path: Path):
    results = tmp_path / "0001_abc_x.json"
    code = (
        "import sys, time\nfrom pathlib import Path\nfrom harness.results.lock import acquire\n"
        f"acquire(Path({str(results)!r}))\nprint('held', flush=True)\ntime.sleep(600)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(ResultsLockedError, match=f"pid {holder.pid}"):
        acquire(results)
    stop(holder, signal.SIGKILL)
    assert lock_path(results).exists()  # a stale file, but the kernel dropped the lock
    acquire(results).release()


@pytest.mark.slow  # two sweeps
def test_two_resumes_of_one_file_at_once(tmp_path: Path, capsys):
    out = tmp_path / "results"
    # every point times for 2 s, so the first writer surely still holds the file
    slow = ["--set=timing.max_iters=1000000", "--set=timing.min_seconds=2"]
    slow += ["--set=timing.max_seconds=2"]
    # a partial run: the first point only
    assert run_main(smoke_argv(out, *slow, "--set", "flops_ratios=[1.0]"), capsys)[0] == 0
    (path,) = results_files(out)
    resume = smoke_argv(out, *slow, "--resume")
    first = start_cli(resume, tmp_path)
    lock = lock_path(path)
    wait_for(lambda: lock.is_file() and lock.read_text().strip().isdigit(), first, "the lock")
    code, err = run_main(resume, capsys)  # the second writer, while the first one holds it
    assert_clean_failure(code, err, str(path), f"pid {first.pid}", "--resume")
    _, first_err = first.communicate(timeout=600)
    assert first.returncode == 0, first_err
    assert stored_points(path) == ALL_POINTS  # nothing lost, nothing twice
    assert results_files(out) == [path] and not lock.exists()


@pytest.mark.slow
def test_a_resume_waits_for_nothing_once_the_writer_is_done(tmp_path: Path, capsys):
    out = tmp_path / "results"
    first = start_cli(smoke_argv(out, "--set", "flops_ratios=[1.0, 0.6]"), tmp_path)
    wait_for(has_points(out, 1), first, "the first point")
    first.communicate(timeout=600)
    assert first.returncode == 0
    assert run_main(smoke_argv(out, "--resume"), capsys)[0] == 0
    (path,) = results_files(out)
    assert stored_points(path) == ALL_POINTS
