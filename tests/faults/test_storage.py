"""A full disk, a folder turning read-only mid-sweep or a name too long: exit 2 with a message
naming the file, the way out and `--resume`; every finished point stays stored and `--resume`
finishes. Files get the user's umask; temp files of killed writers are cleaned up."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from harness.results import atomic_files
from harness.results.lock import lock_path
from harness.results.records import BenchmarkRun, read_run, run_file_stem, save_run, write_run
from harness.results.session import RunSession
from tests.faults.helpers import (
    assert_clean_failure,
    results_files,
    run_main,
    smoke_argv,
    stored_points,
)

ALL_POINTS = ["dense@1.0", "kprune@0.6", "kprune@0.3"]
ENV = {"machine_id": "m-test", "commit": "abcdef0123", "dirty": False}


def _fail_writes_after(monkeypatch, good_writes: int, code: int, results_only: bool) -> None:
    """Temp-file writes fail with `code` after `good_writes` successful ones (a fake disk)."""
    real, calls = atomic_files._temp_with, []

    def failing(folder: Path, name: str, text: str) -> Path:
        if results_only and not name.endswith(("_smoke.json", "_smoke.csv")):
            return real(folder, name, text)
        calls.append(name)
        if len(calls) > good_writes:
            raise OSError(code, os.strerror(code), str(folder / name))
        return real(folder, name, text)

    monkeypatch.setattr(atomic_files, "_temp_with", failing)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("code", "advice"),
    [(errno.ENOSPC, "free space"), (errno.EROFS, "writable"), (errno.EACCES, "writable")],
)
def test_a_failing_disk_mid_sweep_stops_with_the_way_out_and_loses_nothing(
    tmp_path, capsys, caplog, monkeypatch, code, advice
):
    out = tmp_path / "results"
    # new file (json, csv), then dense point (csv, json): the 2nd point's write fails
    _fail_writes_after(monkeypatch, 4, code, results_only=True)
    exit_code, err = run_main(smoke_argv(out), capsys)
    assert_clean_failure(exit_code, err, os.strerror(code), advice, "--resume", "_smoke.")
    assert not [r for r in caplog.records if r.exc_info]
    (path,) = results_files(out)
    assert stored_points(path) == ["dense@1.0"]
    assert not list(path.parent.glob(".*.tmp")) and not lock_path(path).exists()
    monkeypatch.undo()
    assert run_main(smoke_argv(out, "--resume"), capsys)[0] == 0
    assert stored_points(path) == ALL_POINTS


@pytest.mark.slow
def test_a_full_disk_while_exporting_stops_even_under_keep_going(tmp_path, capsys, monkeypatch):
    out = tmp_path / "results"
    _fail_writes_after(monkeypatch, 6, errno.ENOSPC, results_only=False)  # prune logs, manifests
    argv = smoke_argv(out, "--keep-going", torch_only=False)
    exit_code, err = run_main(argv, capsys)
    assert_clean_failure(exit_code, err, "No space left", "--resume")
    run = read_run(results_files(out)[0]) if results_files(out) else None
    assert run is None or not any(p.error for p in run.points)  # not recorded as a point error


def _run() -> BenchmarkRun:
    return BenchmarkRun(config={"name": "smoke"}, environment=ENV)


def test_a_full_disk_replaces_neither_the_json_nor_the_csv(tmp_path, monkeypatch):
    path = write_run(_run(), tmp_path)
    before = (path.read_text(), path.with_suffix(".csv").read_text())
    _fail_writes_after(monkeypatch, 1, errno.ENOSPC, results_only=False)  # the csv, not the json
    with pytest.raises(OSError, match="No space"):
        save_run(_run(), path)
    assert (path.read_text(), path.with_suffix(".csv").read_text()) == before
    assert not list(tmp_path.rglob(".*.tmp"))


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_get_the_users_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        path = write_run(_run(), tmp_path)
        save_run(_run(), path)
    finally:
        os.umask(previous)
    for written in (path, path.with_suffix(".csv")):
        assert written.stat().st_mode & 0o777 == 0o666 & ~umask


def test_temp_files_of_killed_writers_are_removed_when_a_sweep_opens(tmp_path):
    folder = tmp_path / "m-test"
    folder.mkdir()
    dead = folder / ".0001_abc_smoke.json.999999999-0123abcd.tmp"  # no such pid
    alive = folder / f".0001_abc_smoke.json.{os.getpid()}-0123abcd.tmp"
    for stray in (dead, alive):
        stray.write_text("half a file")
    session = RunSession.open({"name": "smoke"}, tmp_path, dict(ENV), resume=False)
    session.close()
    assert not dead.exists() and alive.exists()  # a live writer's temp is left alone


def test_the_longest_config_name_fits_every_file_name():
    longest = BenchmarkRun(
        config={"name": "n" * 100}, environment={**ENV, "commit": "f" * 40, "dirty": True}
    )
    stem = run_file_stem(longest, 9999)
    names = [
        f"{stem}.json",
        lock_path(Path(f"{stem}.json")).name,
        f".{stem}.json.{2**22}-0123abcd.tmp",
    ]
    assert max(len(name.encode()) for name in names) < 255
