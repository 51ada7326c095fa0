"""`kprune-bench` command line: prepare | finetune | sweep | plot | compare.

Only parses arguments, builds a `BenchmarkConfig` (config fields are set with `--set a.b=v`,
never redeclared as flags) and calls the runner or a report. Exit codes: 0 ok, 1 a measured
failure, 2 bad usage (the message names the problem).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.config.load import apply_overrides, load_config, preset_names
from harness.config.schema import BenchmarkConfig
from harness.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    HarnessError,
    UsageError,
    exit_code,
    is_usage_error,
)

log = logging.getLogger(__name__)


def _config_arguments(parser: argparse.ArgumentParser, nargs: str = "?") -> None:
    parser.add_argument(
        "config",
        nargs=nargs,
        default="default",
        help=f"preset name ({', '.join(preset_names())}) or path to a .toml file",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. timing.min_iters=50, flops_ratios=[1.0,0.5], "
        "kprune.rep_weight=1e-3, runtimes.threads=2 (repeatable)",
    )


def _output_flags(parser: argparse.ArgumentParser, top: bool) -> None:
    """-v/-q/--no-progress, accepted before or after the command (SUPPRESS keeps a value given
    before the command from being reset by the command's own default)."""
    count: Any = 0 if top else argparse.SUPPRESS
    flag: Any = False if top else argparse.SUPPRESS
    parser.add_argument("-v", "--verbose", action="count", default=count, help="more log output")
    parser.add_argument("-q", "--quiet", action="count", default=count, help="less log output")
    parser.add_argument("--no-progress", action="store_true", default=flag, help="hide bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kprune-bench", description=__doc__.split("\n")[0])
    _output_flags(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    _output_flags(common, top=False)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, parents=[common])

    prepare = command("prepare", "install assets and fine-tune the config's model")
    _config_arguments(prepare)
    finetune = command("finetune", "fine-tune (or reuse) the config's model")
    _config_arguments(finetune)
    sweep = command("sweep", "prune, export, evaluate and time a config")
    _config_arguments(sweep)
    sweep.add_argument("--out", type=Path, default=Path("bench_results"), help="results folder")
    sweep.add_argument("--resume", action="store_true", help="continue the latest run file")
    sweep.add_argument("--keep-going", action="store_true", help="record errors, go on, exit 1")
    sweep.add_argument("--dry-run", action="store_true", help="print the plan; measure nothing")
    sweep.add_argument(
        "--plots",
        type=Path,
        default=Path("plots"),
        help="figure folder written from the stored run at the end (default: plots/)",
    )
    sweep.add_argument("--no-plots", action="store_true", help="skip the figures")
    sweep.add_argument(
        "--artifacts",
        type=Path,
        default=None,
        help="folder for ONNX files, manifests and pruning logs (default: bench_artifacts/ "
        "beside --out)",
    )
    plot = command("plot", "figures from stored results (files or folders)")
    plot.add_argument("runs", nargs="+", type=Path, help="results .json files or folders")
    plot.add_argument("--out", type=Path, default=Path("plots"), help="figure folder")
    compare = command("compare", "two stored runs side by side")
    compare.add_argument("a", type=Path, help="results .json of run A (baseline)")
    compare.add_argument("b", type=Path, help="results .json of run B")
    return parser


def _config(args: argparse.Namespace) -> BenchmarkConfig:
    return apply_overrides(load_config(args.config), args.overrides)


def check_writable_folder(folder: Path) -> None:
    """UsageError unless `folder` exists as a writable folder or could be created (no side
    effects beyond a probe file that is deleted at once)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"output folder {str(folder)!r}: {str(existing)!r} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise UsageError(f"output folder {str(folder)!r} is not writable ({error})") from error


def _write(text: str) -> None:
    sys.stdout.write(text.rstrip("\n") + "\n")  # the command's output, not a log line


def _sweep(args: argparse.Namespace) -> int:
    config = _config(args)
    if args.resume and args.dry_run:
        raise UsageError("--resume and --dry-run do not go together")
    check_writable_folder(args.out)
    if args.artifacts is not None:
        check_writable_folder(args.artifacts)
    if not (args.no_plots or args.dry_run):
        check_writable_folder(args.plots)
    from harness.sweep.plan import describe_plan

    if args.dry_run:
        _write(describe_plan(config))
        return EXIT_OK
    from harness.report.summary import summary_table
    from harness.sweep.run import run_benchmark

    run = run_benchmark(
        config,
        args.out,
        resume=args.resume,
        keep_going=args.keep_going,
        progress=not args.no_progress,
        artifacts_dir=args.artifacts,
    )
    _write(summary_table(run.measurements))
    if not args.no_plots:
        from harness.report.plots import plot_run

        for written in plot_run(run, args.plots):
            log.info("wrote %s", written)
    failed = [m for m in run.measurements if m.error] + [p for p in run.points if p.error]
    return EXIT_FAILED if failed else EXIT_OK


def _prepare(args: argparse.Namespace) -> int:
    from harness.sweep.run import prepare

    prepare(_config(args), install=True, progress=not args.no_progress)
    return EXIT_OK


def _finetune(args: argparse.Namespace) -> int:
    from harness.sweep.run import prepare

    prepare(_config(args), install=False, progress=not args.no_progress)
    return EXIT_OK


def _run_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if not p.name.startswith("."))
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"results path {str(path)!r} does not exist")
    if not files:
        raise UsageError(f"no results .json files under {[str(p) for p in paths]}")
    return files


def _plot(args: argparse.Namespace) -> int:
    from harness.report.plots import plot_run

    check_writable_folder(args.out)
    for path in _run_files(args.runs):
        for written in plot_run(path, args.out):
            log.info("wrote %s", written)
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from harness.report.compare import compare_runs
    from harness.results.records import read_run

    for path in (args.a, args.b):
        if not path.is_file():
            raise UsageError(f"results file {str(path)!r} does not exist")
    _write(compare_runs(read_run(args.a), read_run(args.b)))
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "prepare": _prepare,
    "finetune": _finetune,
    "sweep": _sweep,
    "plot": _plot,
    "compare": _compare,
}


LOG_LEVELS = {1: logging.DEBUG, 0: logging.INFO, -1: logging.WARNING, -2: logging.ERROR}


def _configure_logging(verbosity: int) -> None:
    level = LOG_LEVELS[min(max(verbosity, -2), 1)]
    # No-op when logging is configured already (an embedding program, pytest).
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    """Entry point of `kprune-bench` and `python -m harness`; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has written its usage message
        return int(exit_.code or 0)
    _configure_logging(args.verbose - args.quiet)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        sys.stderr.write(
            f"kprune-bench {args.command}: interrupted; finished points are stored "
            "(sweep: rerun with --resume)\n"
        )
        return EXIT_FAILED
    except Exception as error:  # typed errors become one line; anything else is a bug: re-raise
        if not (isinstance(error, HarnessError) or is_usage_error(error)):
            raise
        kind = "error" if exit_code(error) == EXIT_USAGE else "failed"
        sys.stderr.write(f"kprune-bench {args.command}: {kind}: {error}\n")
        return exit_code(error)
