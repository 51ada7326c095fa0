"""The gate end to end on the smoke preset (tiny random model, real timing): a fresh candidate,
then its stored run re-timed against doctored baselines: a confirmed FAIL (exit 1), IMPROVED
with --ratchet, a different device class, missing artifacts (exit 3), an accuracy drop."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.cli import main

pytestmark = pytest.mark.slow

FAST = [
    "--set",
    "isolate_backends=true",
    "--set",
    "gate.rounds_min=4",
    "--set",
    "gate.rounds_max=8",
    "--set",
    "gate.block_calls=5",
]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    """A fresh smoke gate without a baseline: WARN, exit 0; its report folder."""
    report = tmp_path_factory.mktemp("fresh") / "report"
    assert main(["-q", "--no-progress", "gate", "smoke", *FAST, "--out", str(report)]) == 0
    return report


def _candidate(report: Path) -> Path:
    (path,) = sorted((report / "candidate" / "bench_results").rglob("*.json"))
    return path


def _doctored(
    report: Path, tmp_path: Path, scale: float = 1.0, metric: float = 0.0, cpu: str | None = None
) -> Path:
    doc = json.loads((report / "gate_run.json").read_text())
    for m in doc["measurements"]:
        if m["method"] != "dense" and m["speedup_vs_dense"]:
            for key in ("speedup_vs_dense", "speedup_ci95_low", "speedup_ci95_high"):
                m[key] *= scale
    for p in doc["points"]:
        p["metric_value"] = (p["metric_value"] or 0.0) + metric
    if cpu:
        doc["environment"]["cpu_model"] = cpu
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(doc))
    return path


def _gate(report: Path, baseline: Path, out: Path, *flags: str) -> tuple[int, dict]:
    args = ["-q", "--no-progress", "gate", "smoke", *FAST, "--candidate", str(_candidate(report))]
    code = main([*args, "--baseline", str(baseline), "--out", str(out), *flags])
    return code, json.loads((out / "gate.json").read_text())


def _speedups(doc: dict) -> list[dict]:
    return [c for c in doc["checks"] if c["kind"] == "speedup"]


def test_fresh_gate_writes_a_run_that_serves_as_the_next_baseline(fresh, tmp_path):
    doc = json.loads((fresh / "gate.json").read_text())
    assert doc["verdict"] == "WARN" and doc["checks"][0]["name"] == "baseline"
    assert len(_speedups(doc)) == 4 and all(
        4 <= c["numbers"]["rounds"] <= 8 for c in _speedups(doc)
    )
    code, again = _gate(fresh, fresh / "gate_run.json", tmp_path / "same")
    assert code in (0, 1)  # real timing of a tiny model: we only check it was judged
    assert {c["verdict"] for c in _speedups(again)} <= {"PASS", "WARN", "IMPROVED", "FAIL"}


def test_a_far_faster_baseline_fails_after_confirmation(fresh, tmp_path):
    code, doc = _gate(fresh, _doctored(fresh, tmp_path, scale=100.0), tmp_path / "out")
    assert code == 1 and doc["verdict"] == "FAIL"
    for check in _speedups(doc):
        assert check["verdict"] == "FAIL" and check["numbers"]["retries"] == 1
        assert check["numbers"]["rounds"] == 2 * check["numbers"]["first_rounds"]
    assert (tmp_path / "out" / "junit.xml").is_file()


def test_improved_only_fails_under_ratchet_and_another_cpu_only_warns(fresh, tmp_path):
    slow_baseline = _doctored(fresh, tmp_path, scale=0.01)
    code, doc = _gate(fresh, slow_baseline, tmp_path / "improved")
    assert code == 0 and {c["verdict"] for c in _speedups(doc)} == {"IMPROVED"}
    assert _gate(fresh, slow_baseline, tmp_path / "ratchet", "--ratchet")[0] == 1
    other = _doctored(fresh, tmp_path, scale=100.0, cpu="Some Other CPU")
    code, doc = _gate(fresh, other, tmp_path / "other")
    assert code == 0 and all("Some Other CPU" in c["reason"] for c in _speedups(doc))


def test_a_gate_run_file_is_a_candidate_too(fresh, tmp_path):
    """gate_run.json names the sweep run it re-timed, so its artifacts are found."""
    out = tmp_path / "out"
    args = ["-q", "--no-progress", "gate", "smoke", *FAST, "--out", str(out)]
    code = main([*args, "--candidate", str(fresh / "gate_run.json")])
    doc = json.loads((out / "gate.json").read_text())
    assert code == 0 and len(_speedups(doc)) == 4
    assert all(c["verdict"] == "WARN" and c["numbers"]["rounds"] >= 4 for c in _speedups(doc))


def test_missing_artifacts_exit_3(fresh, tmp_path):
    empty = tmp_path / "empty_artifacts"
    empty.mkdir()
    code, doc = _gate(fresh, fresh / "gate_run.json", tmp_path / "out", "--artifacts", str(empty))
    assert code == 3 and all(c["verdict"] == "ERROR" for c in _speedups(doc))
    assert "is missing" in _speedups(doc)[0]["reason"]


def test_an_accuracy_drop_fails(fresh, tmp_path):
    code, doc = _gate(fresh, _doctored(fresh, tmp_path, metric=0.02), tmp_path / "out")
    accuracy = [c for c in doc["checks"] if c["kind"] == "accuracy"]
    assert code == 1 and accuracy and all(c["verdict"] == "FAIL" for c in accuracy)


def test_planted_slowdown_is_recorded(fresh, tmp_path, monkeypatch):
    monkeypatch.setenv("KPRUNE_BENCH_GATE_PLANT_SLOWDOWN", "0.25")
    _, doc = _gate(fresh, fresh / "gate_run.json", tmp_path / "out")
    assert any("PLANTED" in note for note in doc["notes"])
    shutil.rmtree(tmp_path / "out")


def test_ab_sweeps_the_ref_and_times_both_sides_in_this_job(fresh, tmp_path):
    out = tmp_path / "ab"
    args = ["-q", "--no-progress", "gate", "smoke", *FAST, "--candidate", str(_candidate(fresh))]
    code = main([*args, "--ab", "HEAD", "--out", str(out)])
    doc = json.loads((out / "gate.json").read_text())
    assert code in (0, 1) and doc["baseline"]["source"] == "ref:HEAD"
    assert all(c["numbers"]["baseline"] for c in _speedups(doc))  # re-timed here, every trial
    assert list(out.glob("kprune-gate-ab-*/tree/harness/cli.py"))  # the ref's own code
