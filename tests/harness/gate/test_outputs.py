"""What CI systems read: JUnit XML that parses, a step summary under 1 MiB with at most 10
`::error` lines, github-action-benchmark JSON of the documented shape, gate.json."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from harness.gate.history import latency_entries, speedup_entries
from harness.gate.junit import junit_xml
from harness.gate.markdown import MAX_ANNOTATIONS, error_annotations, step_summary
from harness.gate.outcome import Check, GateOutcome
from harness.gate.outputs import write_outputs


def _speedup(name: str, verdict: str, estimate: float = 1.5) -> Check:
    numbers = {
        "baseline": 2.0,
        "floor": 1.8,
        "tol": 0.1,
        "estimate": estimate,
        "ci_low": estimate - 0.05,
        "ci_high": estimate + 0.05,
        "rounds": 20,
        "retries": 1,
        "dense_p50_ms": 8.0,
        "pruned_p50_ms": 8.0 / estimate,
    }
    return Check(name, "speedup", verdict, f"{verdict} because | of numbers", numbers)


def _outcome(checks) -> GateOutcome:
    return GateOutcome(
        checks=checks,
        candidate={"source": "fresh"},
        baseline={"source": "b.json"},
        settings={"tol_cpu_ratio": 0.1},
    )


MIXED = _outcome(
    [
        _speedup("kprune@0.5|torch/eager/cpu/float32|b1|s64", "FAIL"),
        _speedup("kprune@0.3|torch/eager/cpu/float32|b1|s64", "PASS", 3.0),
        Check("kprune@0.5|seed=0", "accuracy", "WARN", "drop 0.2 points", {"baseline": 0.8}),
        Check("kprune@0.2|onnxruntime/default/cpu/float32|b1|s64", "speedup", "ERROR", "missing"),
    ]
)


def test_junit_xml_parses_with_one_testcase_per_check():
    root = ET.fromstring(junit_xml(MIXED))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 4 and root.get("failures") == "1" and root.get("errors") == "1"
    assert cases[0].find("failure") is not None and cases[2].find("skipped") is not None
    assert cases[3].find("error") is not None and cases[1].find("failure") is None
    props = {p.get("name"): p.get("value") for p in cases[0].findall("./properties/property")}
    assert props["estimate"] == "1.5" and props["floor"] == "1.8" and props["verdict"] == "FAIL"


def test_step_summary_puts_the_verdict_first_and_folds_the_full_table():
    text = step_summary(MIXED)
    assert text.startswith("## kprune-bench gate: FAIL (exit 1)")
    attention, folded = text.split("<details>")
    assert "PASS" not in attention.split("\n", 3)[3]  # only FAIL / ERROR / WARN rows on top
    assert folded.count("| **") == 4 and "\\|" in text  # pipes in names escaped


def test_step_summary_stays_under_one_mebibyte_and_annotations_at_ten():
    many = _outcome(
        [_speedup(f"kprune@0.{i}|torch/eager/cpu/float32|b1|s{i}", "FAIL") for i in range(20_000)]
    )
    text = step_summary(many)
    assert len(text.encode()) < 1024 * 1024
    assert "more rows left out" in text
    lines = error_annotations(many)
    assert len(lines) == MAX_ANNOTATIONS and all(line.startswith("::error ") for line in lines)


def test_annotations_escape_newlines():
    outcome = _outcome([Check("x", "speedup", "FAIL", "line one\nline two")])
    (line,) = error_annotations(outcome)
    assert "\n" not in line and "%0A" in line


def test_github_action_benchmark_shape():
    speedups, latencies = speedup_entries(MIXED), latency_entries(MIXED)
    assert len(speedups) == 2 and len(latencies) == 4
    for entry in speedups + latencies:
        assert isinstance(entry["name"], str) and isinstance(entry["value"], float)
        assert entry["unit"] in ("x", "ms")
    assert speedups[0]["range"] == "1.4500..1.5500"
    json.dumps(speedups + latencies)  # plain JSON


def test_gate_document_and_written_files(tmp_path, monkeypatch):
    summary_file = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary_file))
    written = write_outputs(MIXED, tmp_path)
    doc = json.loads(written["gate"].read_text())
    assert doc["verdict"] == "FAIL" and doc["exit_code"] == 1
    assert doc["counts"] == {"PASS": 1, "IMPROVED": 0, "WARN": 1, "FAIL": 1, "ERROR": 1}
    first = doc["checks"][0]
    assert {
        "baseline",
        "estimate",
        "ci_low",
        "ci_high",
        "floor",
        "tol",
        "rounds",
        "retries",
    } <= set(first["numbers"])
    assert first["verdict"] == "FAIL" and first["differences"] == []
    assert summary_file.read_text().startswith("## kprune-bench gate: FAIL")
    assert json.loads(written["speedup"].read_text())[0]["unit"] == "x"
