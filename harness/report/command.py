"""`kprune-bench report`: its flags and its handler (registered by `harness.cli` with a few
lines). Exit codes: 0 written, 2 bad usage (no readable run, an unwritable folder)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from harness.errors import UsageError

log = logging.getLogger(__name__)

HELP = "a hardware comparison report (HTML + Markdown) from stored runs (files or folders)"


def add_arguments(report: argparse.ArgumentParser) -> None:
    """The `report` subcommand's flags."""
    report.add_argument("runs", nargs="+", type=Path, help="results .json files or folders")
    report.add_argument(
        "--out", type=Path, required=True, help="report folder (report.html, report.md, figures/)"
    )


def run_report(args: argparse.Namespace) -> int:
    from harness.report.study_report import write_report

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {str(args.out)!r} is a file; name a folder for the report")
    written = write_report(args.runs, args.out)  # unreadable runs: warned, named, skipped
    for path in written:
        log.info("wrote %s", path)
    sys.stdout.write(f"{args.out / 'report.html'}\n{args.out / 'report.md'}\n")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"report": run_report}
