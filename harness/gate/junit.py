"""JUnit XML of a gate run: one testcase per check (FAIL -> failure, ERROR -> error, WARN ->
skipped with the reason), the numbers as properties. Pure text via xml.etree.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.gate.outcome import Check, GateOutcome

SUITE_NAME = "kprune-bench gate"


def _testcase(check: Check) -> ET.Element:
    case = ET.Element("testcase", classname=f"kprune.gate.{check.kind}", name=check.name, time="0")
    properties = ET.SubElement(case, "properties")
    for key, value in check.numbers.items():
        ET.SubElement(properties, "property", name=key, value="" if value is None else str(value))
    for difference in check.differences:
        ET.SubElement(properties, "property", name="difference", value=difference)
    ET.SubElement(properties, "property", name="verdict", value=check.verdict)
    if check.verdict == "FAIL":
        ET.SubElement(case, "failure", message=check.reason, type="regression").text = check.reason
    elif check.verdict == "ERROR":
        ET.SubElement(case, "error", message=check.reason, type="missing").text = check.reason
    elif check.verdict == "WARN":
        ET.SubElement(case, "skipped", message=check.reason)
    return case


def junit_xml(outcome: GateOutcome) -> str:
    """The `<testsuites>` document as text."""
    checks = list(outcome.checks)
    attributes = {
        "name": SUITE_NAME,
        "tests": str(len(checks)),
        "failures": str(outcome.count("FAIL")),
        "errors": str(outcome.count("ERROR")),
        "skipped": str(outcome.count("WARN")),
    }
    root = ET.Element("testsuites", attributes)
    suite = ET.SubElement(root, "testsuite", attributes)
    for check in checks:
        suite.append(_testcase(check))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
