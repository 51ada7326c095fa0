"""Figure files: PNG + SVG per figure, named by run so no run overwrites another's, and a
folder of results is plotted even when one of its files is unreadable."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from harness.cli import main  # noqa: E402
from harness.errors import EXIT_OK, EXIT_USAGE  # noqa: E402
from harness.report.plots import FIGURES, figure_prefix, plot_run, plot_runs  # noqa: E402
from harness.results.records import read_run, write_run  # noqa: E402
from tests.harness.handmade_runs import make_run  # noqa: E402


def _names(run, kinds=FIGURES) -> set[str]:
    return {f"{figure_prefix(run)}_{kind}.{ext}" for kind in kinds for ext in ("png", "svg")}


def _light(**kwargs):
    """A run with only the speedup figure to draw (no points, no metric): cheap to save."""
    run = make_run(**kwargs)
    rows = [dataclasses.replace(m, metric_value=None, metric_name=None) for m in run.measurements]
    return dataclasses.replace(run, points=[], measurements=rows)


def _corrupt(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "0009_abcdef0_broken.json"
    path.write_text("{ not json", encoding="utf-8")
    return path


def test_figure_prefix_is_config_name_and_run_id():
    run = dataclasses.replace(make_run(name="my sweep/v2"), run_id="0123abcd4567")
    assert figure_prefix(run) == "my-sweep-v2_0123abcd4567"


@pytest.mark.slow
def test_plot_run_writes_png_and_svg_of_each_figure(tmp_path: Path):
    run = make_run(batches=(1, 8))
    written = plot_run(run, tmp_path / "plots")
    assert {p.name for p in written} == _names(run)
    assert all(p.name.startswith(f"handmade_{run.run_id}_") for p in written)
    svg = tmp_path / "plots" / f"{figure_prefix(run)}_kept_per_layer.svg"
    assert svg.read_text(encoding="utf-8").startswith("<?xml")
    png = tmp_path / "plots" / f"{figure_prefix(run)}_speedup_vs_flops.png"
    assert png.read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_two_runs_of_one_config_keep_their_own_figures(tmp_path: Path):
    first = write_run(_light(name="same"), tmp_path / "results")
    second = write_run(_light(name="same", dense_ms=20.0), tmp_path / "results")
    plotted = plot_runs([tmp_path / "results"], tmp_path / "plots")
    assert list(plotted) == [first, second]
    kinds = ["speedup_vs_flops"]
    names = [{p.name for p in plotted[path]} for path in (first, second)]
    assert names == [_names(read_run(first), kinds), _names(read_run(second), kinds)]
    assert not names[0] & names[1]
    assert len(list((tmp_path / "plots").iterdir())) == 4


def test_a_run_plotted_from_its_file_gets_the_names_it_got_in_memory(tmp_path: Path):
    run = make_run(name="stored")
    path = write_run(run, tmp_path / "results")
    assert figure_prefix(read_run(path)) == figure_prefix(run) == f"stored_{run.run_id}"


@pytest.mark.slow
def test_unreadable_files_are_named_and_skipped_artifacts_ignored(tmp_path: Path, caplog):
    results = tmp_path / "results"
    good = write_run(_light(name="good"), results)
    broken = _corrupt(results / "m-test")
    write_run(_light(name="artifact"), results / "bench_artifacts")  # not a result to plot
    with caplog.at_level(logging.WARNING):
        plotted = plot_runs([results], tmp_path / "plots")
    assert list(plotted) == [good] and len(plotted[good]) == 2
    assert any(str(broken) in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert all(p.name.startswith("good_") for p in (tmp_path / "plots").iterdir())


@pytest.mark.slow
def test_plot_command_goes_on_past_a_corrupt_file(tmp_path: Path, capsys):
    write_run(_light(name="cliplot"), tmp_path / "results")
    _corrupt(tmp_path / "results")
    out = tmp_path / "plots"
    assert main(["-q", "plot", str(tmp_path / "results"), "--out", str(out)]) == EXIT_OK
    assert len(list(out.glob("cliplot_*_speedup_vs_flops.png"))) == 1


def test_plot_command_with_only_unreadable_files_exits_2(tmp_path: Path, capsys):
    broken = _corrupt(tmp_path / "results")
    assert main(["-q", "plot", str(broken), "--out", str(tmp_path / "plots")]) == EXIT_USAGE
    assert "no readable results" in capsys.readouterr().err
