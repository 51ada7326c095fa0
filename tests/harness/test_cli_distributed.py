"""The command line past one machine: `plan --shards`, the sweep's shard flags (bad ones exit 2
with a message naming the way out), and `merge` of stored shard files."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.results.frame import run_files
from harness.results.records import read_run, save_run, write_run
from tests.harness.results.test_merge import shard_run


def test_plan_shows_the_shards(capsys: pytest.CaptureFixture[str]):
    assert main(["-q", "plan", "smoke", "--shards", "2"]) == 0
    out = capsys.readouterr().out
    assert "shard 0/2" in out and "shard 1/2" in out and out.count("dense@1.0") == 2
    assert main(["-q", "plan", "smoke"]) == 0
    assert "3 points, 6 trials" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--shard", "3/3"], "INDEX/COUNT"),
        (["--shards", "3"], "--shards needs --shard-from-env"),
        (["--shard", "0/3", "--shards", "3"], "--shards goes with --shard-from-env"),
        (["--shard-from-env"], "SLURM_ARRAY_TASK_ID"),
    ],
)
def test_bad_shard_flags_exit_2(argv, message, tmp_path: Path, capsys, monkeypatch):
    for name in ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"):
        monkeypatch.delenv(name, raising=False)
    code = main(["-q", "sweep", "smoke", *argv, "--out", str(tmp_path), "--no-plots"])
    assert code == 2 and message in capsys.readouterr().err


def test_merge_writes_one_run_and_exits_1_when_a_shard_is_missing(tmp_path: Path, capsys):
    shards = tmp_path / "shards"
    for index in (0, 2):
        write_run(shard_run(index), shards)
    code = main(["-q", "merge", str(shards), "--out", str(tmp_path / "merged")])
    out = capsys.readouterr().out
    assert code == 1 and "missing: 2" in out and "rerun shard 1" in out
    write_run(shard_run(1), shards)
    assert main(["-q", "merge", str(shards), "--out", str(tmp_path / "merged")]) == 0
    newest = max(run_files([tmp_path / "merged"]))
    assert len(read_run(newest).measurements) == 6


def test_merge_refuses_a_conflict_unless_told(tmp_path: Path, capsys):
    shards = tmp_path / "shards"
    for run in (shard_run(0), shard_run(1, run_id="a"), shard_run(1, run_id="b", dense_ms=9.0)):
        write_run(run, shards)
    out = str(tmp_path / "merged")
    assert main(["-q", "merge", str(shards), "--out", out]) == 2
    assert "--prefer" in capsys.readouterr().err
    assert main(["-q", "merge", str(shards), "--out", out, "--prefer", "run:b"]) == 0
    assert main(["-q", "merge", str(shards), "--out", out, "--prefer", "sooner"]) == 2


def test_merge_names_a_corrupt_shard_file(tmp_path: Path, capsys):
    path = write_run(shard_run(0), tmp_path / "shards")
    save_run(shard_run(1), path.with_name("0009_x_plan-shard1of3.json"))
    path.write_text("{ not json")
    assert main(["-q", "merge", str(tmp_path / "shards"), "--out", str(tmp_path / "m")]) == 2
    assert str(path) in capsys.readouterr().err
