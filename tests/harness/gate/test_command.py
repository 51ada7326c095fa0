"""`kprune-bench gate` exit codes in-process: 0 pass/warn, 2 usage, 3 missing trials (1 needs a
re-measurable candidate: see test_gate_run.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from harness.cli import main

KEY_A = "kprune@0.5|torch/eager/cpu/float32|b1|s64"
KEY_B = "kprune@0.3|torch/eager/cpu/float32|b1|s64"


def _bench_file(path: Path, speedups: dict[str, float]) -> Path:
    benchmarks = []
    for key, speedup in speedups.items():
        info = {
            "trial_key": key,
            "device": "cpu",
            "speedup": speedup,
            "ci_low": speedup * 0.98,
            "ci_high": speedup * 1.02,
            "confidence": 0.99,
            "rounds": 10,
            "log_ratios": [math.log(speedup)] * 10,
            "fingerprint": {"cpu_model": "X", "logical_cores": 2},
        }
        benchmarks.append({"name": key, "extra_info": {"kprune": info}})
    path.write_text(json.dumps({"machine_info": {}, "benchmarks": benchmarks}))
    return path


def _gate(tmp_path: Path, *flags: str) -> int:
    return main(["-q", "gate", "ci", "--out", str(tmp_path / "report"), *flags])


def test_same_numbers_pass_and_write_every_output(tmp_path):
    bench = _bench_file(tmp_path / "b.json", {KEY_A: 2.0, KEY_B: 3.0})
    assert _gate(tmp_path, "--candidate", str(bench), "--baseline", str(bench)) == 0
    names = {p.name for p in (tmp_path / "report").iterdir()}
    assert {"gate.json", "summary.md", "junit.xml", "benchmark-speedup.json"} <= names
    doc = json.loads((tmp_path / "report" / "gate.json").read_text())
    assert doc["verdict"] == "PASS" and doc["exit_code"] == 0


def test_a_slower_file_candidate_warns_but_cannot_fail(tmp_path):
    base = _bench_file(tmp_path / "base.json", {KEY_A: 2.0})
    cand = _bench_file(tmp_path / "cand.json", {KEY_A: 1.0})
    assert _gate(tmp_path, "--candidate", str(cand), "--baseline", str(base)) == 0
    doc = json.loads((tmp_path / "report" / "gate.json").read_text())
    assert doc["verdict"] == "WARN" and "not re-measured" in doc["checks"][0]["reason"]


def test_missing_trial_exits_3_and_missing_baseline_exits_3_when_required(tmp_path):
    base = _bench_file(tmp_path / "base.json", {KEY_A: 2.0, KEY_B: 3.0})
    cand = _bench_file(tmp_path / "cand.json", {KEY_A: 2.0})
    assert _gate(tmp_path, "--candidate", str(cand), "--baseline", str(base)) == 3
    assert _gate(tmp_path, "--candidate", str(cand)) == 0
    assert _gate(tmp_path, "--candidate", str(cand), "--require-baseline") == 3


def test_usage_errors_exit_2(tmp_path, capsys):
    cand = _bench_file(tmp_path / "cand.json", {KEY_A: 2.0})
    assert _gate(tmp_path, "--candidate", str(tmp_path / "nope.json")) == 2
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert _gate(tmp_path, "--candidate", str(cand), "--baseline", str(broken)) == 2
    assert "broken.json" in capsys.readouterr().err
    assert _gate(tmp_path, "--baseline", str(cand), "--ab", "HEAD") == 2  # exclusive flags
    assert main(["gate", "no-such-preset", "--candidate", str(cand)]) == 2
