"""`kprune-bench report`: a self-contained, well-formed HTML page and a Markdown twin holding every
table and figure; older schemas load, a corrupt run is named and skipped, one run is enough."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.cli import main
from harness.report.study_report import write_report
from harness.results.records import run_to_dict, save_run
from tests.harness.report.study_runs import study_run

TABLES = ("setups", "comparability", "dense-latency", "speedup", "amdahl", "accuracy", "structure")
FIGURES = ("speedup-vs-flops", "pareto", "heatmap")
VOID = {"meta", "br", "hr", "img", "input", "link"}
pytestmark = pytest.mark.slow  # each test renders three figures


class Balance(HTMLParser):
    """Every opened element is closed, in order; no script, no external resource."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []
        self.ids: set[str] = set()

    def handle_startendtag(self, tag, attrs):  # <x/>: opens and closes itself
        self._check(tag, attrs)

    def handle_starttag(self, tag, attrs):
        self._check(tag, attrs)
        if tag not in VOID:
            self.open.append(tag)

    def _check(self, tag, attrs):
        values = dict(attrs)
        self.ids.add(values.get("id") or "")
        if tag == "script" or any(
            str(values.get(k) or "").startswith(("http:", "https:", "//")) for k in ("src", "href")
        ):
            self.problems.append(f"external or active content: <{tag} {values}>")

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()


def three_runs(folder: Path) -> list[Path]:
    """R1: threads 1; R2: the same machine at 2 threads (B); R3: another machine (C)."""
    runs = [
        ("0001_abc_one.json", study_run("one")),
        ("0002_abc_two.json", study_run("two", threads=2, dense_ms=7.0, share=0.3)),
        ("0003_abc_other.json", study_run("other", machine="m-b", dense_ms=3.0, share=0.05)),
    ]
    for name, run in runs:
        save_run(run, folder / name)
    return [folder / name for name, _ in runs]


def check_page(text: str) -> Balance:
    checker = Balance()
    checker.feed(text)
    checker.close()
    assert checker.problems == [] and checker.open == []
    ET.fromstring(text[text.index("<html") :])  # well-formed XML as well
    return checker


def test_report_holds_every_table_and_figure(tmp_path):
    three_runs(tmp_path)
    write_report([tmp_path], tmp_path / "report")
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    checker = check_page(html)
    assert set(TABLES + FIGURES) <= checker.ids
    assert html.count("<table") == len(TABLES) and html.count("<svg") == len(FIGURES)
    markdown = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert markdown.count("|:---|") == len(TABLES)
    for key in FIGURES:
        assert f"(figures/{key}.svg)" in markdown
        assert (tmp_path / "report" / "figures" / f"{key}.svg").read_text().startswith("<svg")
    # the classes of the three pairs, and absolute numbers of C never divided (no "B/A")
    assert "<td" in html and "threads (1 vs 2)" in html and "different devices" in html
    assert "B/A" not in html
    assert "onnxruntime -0.0100 ⚑" in html  # ORT scored 0.01 below the reference (tolerance 0.005)


def test_corrupt_run_is_named_and_the_others_still_report(tmp_path):
    three_runs(tmp_path)
    (tmp_path / "0004_abc_broken.json").write_text('{"schema_version": 3, "measure')
    write_report([tmp_path], tmp_path / "report")
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "0004_abc_broken.json" in html and "Skipped" in html
    assert "R3" in html


def test_older_schema_and_a_single_run(tmp_path):
    doc = run_to_dict(study_run("old"))
    doc["schema_version"] = 1
    for row in doc["measurements"]:
        for name in ("dense_samples_ms", "timing_pid", "state_before", "state_after"):
            row.pop(name)
    (tmp_path / "0001_abc_old.json").write_text(json.dumps(doc))
    write_report([tmp_path / "0001_abc_old.json"], tmp_path / "report")
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    check_page(html)
    assert "(no rows)" in html  # one setup: no pair to class


def test_cli_report_and_its_usage_errors(tmp_path, capsys):
    three_runs(tmp_path)
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "report.md").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty), "--out", str(tmp_path / "out2")]) == 2
    assert "no readable run" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
