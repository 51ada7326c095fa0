"""`kprune-bench gate`: its flags and its handler (registered by `harness.cli` with a few lines).

Exit codes: 0 pass or warn, 1 a confirmed regression (or an improvement under --ratchet),
2 bad usage or an unreadable input, 3 required trials (or, with --require-baseline, the
baseline) missing or errored.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from harness.errors import UsageError

log = logging.getLogger(__name__)

HELP = "re-time a candidate's pruned trials in paired rounds; gate speedup and accuracy"
DEFAULT_CONFIG = "ci"


def add_arguments(gate: argparse.ArgumentParser) -> None:
    """The `gate` subcommand's flags."""
    gate.add_argument(
        "config", nargs="?", default=DEFAULT_CONFIG, help="preset or .toml (default: ci)"
    )
    gate.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. gate.tol_cpu_ratio=0.15 (repeatable)",
    )
    gate.add_argument(
        "--candidate",
        type=Path,
        default=None,
        help="a stored run .json (its artifacts are re-timed) or a pytest-benchmark "
        ".json (taken as measured); default: a fresh sweep of the config",
    )
    gate.add_argument(
        "--artifacts",
        type=Path,
        default=None,
        help="the bench_artifacts folder of --candidate (default: beside its results folder)",
    )
    which = gate.add_mutually_exclusive_group()
    which.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="stored run .json (e.g. a gate_run.json) or pytest-benchmark .json",
    )
    which.add_argument(
        "--ab",
        dest="ab_ref",
        metavar="REF",
        default=None,
        help="sweep git REF in this job as the baseline (git archive + child)",
    )
    gate.add_argument(
        "--out",
        type=Path,
        default=Path("gate_report"),
        help="folder for gate.json, summary.md, junit.xml, benchmark-*.json, "
        "gate_run.json (default: gate_report/)",
    )
    gate.add_argument(
        "--require-baseline",
        action="store_true",
        help="a missing baseline (or baseline trial) exits 3 instead of warning",
    )
    gate.add_argument(
        "--ratchet",
        action="store_true",
        help="an IMPROVED trial fails (exit 1) until the baseline is refreshed",
    )


def _check_paths(args: argparse.Namespace) -> None:
    for flag in ("candidate", "baseline"):
        path = getattr(args, flag)
        if path is not None and not path.is_file():
            raise UsageError(f"--{flag} {str(path)!r} is not a file; name a results .json")
    if args.artifacts is not None and args.candidate is None:
        raise UsageError("--artifacts goes with --candidate (a fresh sweep writes its own)")
    if args.artifacts is not None and not args.artifacts.is_dir():
        raise UsageError(f"--artifacts {str(args.artifacts)!r} is not a folder")


def run_command(args: argparse.Namespace) -> int:
    """Handler of `kprune-bench gate`; returns the exit code."""
    from harness.config.load import apply_overrides, load_config
    from harness.gate.markdown import error_annotations, step_summary
    from harness.gate.outputs import write_outputs
    from harness.gate.run import GateRequest, run_gate
    from harness.results.atomic_files import check_writable_folder

    _check_paths(args)
    check_writable_folder(args.out)
    config = apply_overrides(load_config(args.config), args.overrides)
    request = GateRequest(
        config=config,
        config_source=args.config,
        overrides=tuple(args.overrides),
        candidate=args.candidate,
        artifacts=args.artifacts,
        baseline=args.baseline,
        ab_ref=args.ab_ref,
        out=args.out,
        require_baseline=args.require_baseline,
        ratchet=args.ratchet,
        progress=not args.no_progress,
    )
    outcome = run_gate(request)
    for path in write_outputs(outcome, args.out).values():
        log.info("wrote %s", path)
    sys.stdout.write(step_summary(outcome).split("<details>")[0].rstrip("\n") + "\n")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        sys.stdout.write("".join(f"{line}\n" for line in error_annotations(outcome)))
    return outcome.exit_code


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"gate": run_command}
