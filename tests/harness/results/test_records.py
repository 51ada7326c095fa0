"""Results files: round trip, numbering, incremental writes, CSV columns, old schema, corruption."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from harness.measure.stats import summarize
from harness.results.frame import load, read_runs_from
from harness.results.records import (
    SCHEMA_VERSION,
    BenchmarkRun,
    Measurement,
    PrunePoint,
    ResultsFileError,
    read_run,
    write_run,
)
from harness.results.session import RunSession

V0_FILE = Path(__file__).parents[1] / "data" / "run_v0.json"
CONTRACT_COLUMNS = [
    "method",
    "target_flops_ratio",
    "achieved_flops_ratio",
    "params",
    "backend",
    "device",
    "dtype",
    "batch_size",
    "seq_len",
    "latency_median_ms",
    "latency_p90_ms",
    "latency_ci95_low_ms",
    "latency_ci95_high_ms",
    "speedup_vs_dense",
    "metric_name",
    "metric_value",
]
ENV = {"commit": "abcdef0123456789", "dirty": True, "machine_id": "m-test", "load_average": [1.0]}


def _measurement(ratio: float = 0.5, **kwargs) -> Measurement:
    samples = [1.0, 1.5, 1.2, 1.1]
    fields = dict(
        method="kprune",
        target_flops_ratio=ratio,
        achieved_flops_ratio=ratio - 0.01,
        params=123,
        backend="onnxruntime",
        variant="default",
        device="cpu",
        dtype="float32",
        batch_size=8,
        seq_len=128,
        threads=1,
        latency=summarize(samples),
        samples_ms=samples,
        first_call_ms=9.0,
        speedup_vs_dense=1.9,
        ideal_speedup=1 / (ratio - 0.01),
    )
    return Measurement(**{**fields, **kwargs})


def _point(ratio: float = 0.5) -> PrunePoint:
    return PrunePoint(
        method="kprune",
        target_flops_ratio=ratio,
        achieved_flops_ratio=ratio - 0.01,
        params=123,
        heads_per_layer=[2, 0],
        neurons_per_layer=[10, 0],
        sublayers=[{"layer": 0, "kind": "attention", "residual": 0.1}],
    )


def _run(**kwargs) -> BenchmarkRun:
    fields = dict(
        config={"name": "tiny sweep/1"},
        environment=ENV,
        points=[_point()],
        measurements=[_measurement(), _measurement(error="boom", latency=None)],
    )
    return BenchmarkRun(**{**fields, **kwargs})


def test_run_round_trips_with_numbered_names(tmp_path) -> None:
    run = _run()
    path = write_run(run, tmp_path)
    assert path.parent == tmp_path / "m-test"
    assert path.name == "0001_abcdef0-dirty_tiny-sweep-1.json"
    assert read_run(path) == run and read_run(path).schema_version == SCHEMA_VERSION
    assert write_run(run, tmp_path).name.startswith("0002_")
    clean = _run(environment={**ENV, "dirty": False, "commit": None})
    assert write_run(clean, tmp_path).name == "0003_nocommit_tiny-sweep-1.json"


def test_csv_beside_the_json_has_the_contract_columns(tmp_path) -> None:
    path = write_run(_run(), tmp_path)
    with path.with_suffix(".csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert set(CONTRACT_COLUMNS) <= set(rows[0])
    assert "samples_ms" not in rows[0] and rows[0]["latency_median_ms"] == "1.15"
    assert rows[1]["error"] == "boom" and rows[1]["latency_median_ms"] == ""


def test_incremental_stores_rewrite_the_whole_file(tmp_path) -> None:
    run = _run(measurements=[])
    session = RunSession(write_run(run, tmp_path), run)
    path = session.path
    for ratio in (0.9, 0.7):
        session.store_point(_point(ratio), [_measurement(ratio)])
    loaded = read_run(path)
    assert [m.target_flops_ratio for m in loaded.measurements] == [0.9, 0.7]
    assert len(path.with_suffix(".csv").read_text().splitlines()) == 3
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_a_v0_file_still_loads() -> None:
    run = read_run(V0_FILE)
    (m,) = run.measurements
    assert m.samples_ms == [2.0, 2.5, 3.0] and m.variant == "default"
    assert m.timer == "unknown (schema v0)"
    assert run.run_id == "run_v0" and run.points == [] and run.schema_version == SCHEMA_VERSION


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"schema_version": 99, "config": {}, "environment": {}}', "newer"),
        ('{"config": {}, "environment": {}}', "schema_version is None"),
        (
            '{"schema_version": 1, "config": {}, "environment": {}, "measurements": [{}]}',
            "malformed",
        ),
    ],
)
def test_bad_files_raise_an_error_naming_the_file(tmp_path, content, problem) -> None:
    path = tmp_path / "0001_bad.json"
    path.write_text(content)
    with pytest.raises(ResultsFileError, match=problem) as info:
        read_run(path)
    assert str(path) in str(info.value) and info.value.path == path


def test_read_runs_reports_corrupt_files_and_loads_the_rest(tmp_path) -> None:
    good = write_run(_run(), tmp_path)
    (good.parent / "0002_abcdef0_cut.json").write_text(good.read_text()[:40])
    runs, errors = read_runs_from([tmp_path])
    assert [run.config["name"] for _, run in runs] == ["tiny sweep/1"]
    assert [e.path.name for e in errors] == ["0002_abcdef0_cut.json"]


def test_dataframe_has_one_row_per_measurement_with_flat_context(tmp_path) -> None:
    first = write_run(_run(), tmp_path)
    write_run(_run(measurements=[_measurement(0.3)]), tmp_path)
    frame = load([tmp_path])
    assert len(frame) == 3
    assert set(CONTRACT_COLUMNS) <= set(frame.columns)
    assert set(frame["machine_id"]) == {"m-test"}
    assert set(frame["config.name"]) == {"tiny sweep/1"}
    assert frame.loc[frame["run_file"] == str(first), "trial_key"].str.contains("@").all()
    assert load([first])["latency_median_ms"].notna().sum() == 1  # the error row has no stats


def test_documents_are_plain_json(tmp_path) -> None:
    doc = json.loads(write_run(_run(), tmp_path).read_text())
    assert doc["schema_version"] == SCHEMA_VERSION and doc["measurements"][0]["samples_ms"]
    assert doc["points"][0]["heads_per_layer"] == [2, 0]
