"""Write a gate outcome where CI systems read it: gate.json, summary.md (also appended to
`$GITHUB_STEP_SUMMARY` when set), junit.xml, and the two github-action-benchmark files.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from harness.gate.document import gate_document
from harness.gate.history import latency_entries, speedup_entries
from harness.gate.junit import junit_xml
from harness.gate.markdown import step_summary
from harness.gate.outcome import GateOutcome
from harness.results.atomic_files import replace_text

log = logging.getLogger(__name__)

FILES = {
    "gate": "gate.json",
    "summary": "summary.md",
    "junit": "junit.xml",
    "speedup": "benchmark-speedup.json",
    "latency": "benchmark-latency.json",
}


def write_outputs(outcome: GateOutcome, out: Path) -> dict[str, Path]:
    """Every output file under `out`; returns them by kind."""
    texts = {
        "gate": json.dumps(gate_document(outcome), indent=1) + "\n",
        "summary": step_summary(outcome),
        "junit": junit_xml(outcome),
        "speedup": json.dumps(speedup_entries(outcome), indent=1) + "\n",
        "latency": json.dumps(latency_entries(outcome), indent=1) + "\n",
    }
    written = {}
    for kind, text in texts.items():
        written[kind] = out / FILES[kind]
        replace_text(written[kind], text)
    step_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_file:
        with open(step_file, "a", encoding="utf-8") as handle:
            handle.write(texts["summary"])
        log.info("appended the summary to %s", step_file)
    return written
