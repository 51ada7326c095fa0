"""`kprune-bench` command line: prepare | finetune | sweep | plot | compare.

Only parses arguments, builds a `BenchmarkConfig` (config fields are set with `--set a.b=v`,
never redeclared as flags) and calls the runner or a report. Exit codes: 0 ok, 1 a measured
failure, 2 bad usage (the message names the problem).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from harness import cli_distributed
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
from harness.gate import command as gate_command
from harness.report import command as report_command
from harness.results.atomic_files import check_writable_folder, storage_cause, storage_error

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
    cli_distributed.add_sweep_flags(sweep)
    plot = command("plot", "figures from stored results (files or folders)")
    plot.add_argument("runs", nargs="+", type=Path, help="results .json files or folders")
    plot.add_argument("--out", type=Path, default=Path("plots"), help="figure folder")
    compare = command("compare", "two stored runs side by side")
    compare.add_argument("a", type=Path, help="results .json of run A (baseline)")
    compare.add_argument("b", type=Path, help="results .json of run B")
    accuracy = command("accuracy", "the metric per kept ratio and method (mean ± std over seeds)")
    accuracy.add_argument("run", type=Path, help="results .json of a run")
    cli_distributed.add_commands(command)
    gate_command.add_arguments(command("gate", gate_command.HELP))
    report_command.add_arguments(command("report", report_command.HELP))
    return parser


def _config(args: argparse.Namespace) -> BenchmarkConfig:
    return apply_overrides(load_config(args.config), args.overrides)


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

    shard = cli_distributed.sweep_shard(args, config)
    if args.dry_run:
        from harness.sweep.run import preflight_sweep

        checked = preflight_sweep(config, args.out, args.artifacts)  # what a run checks first
        _write(describe_plan(config))
        cli_distributed.write_shard(config, shard)
        _write("preflight passed:\n" + "\n".join(f"  {line}" for line in checked))
        return EXIT_OK
    from harness.report.seeds import has_several_seeds, seed_table
    from harness.report.summary import summary_table
    from harness.results.frame import measurements_frame, points_frame
    from harness.results.records import is_unreachable
    from harness.sweep.run import run_benchmark

    run = run_benchmark(
        config,
        args.out,
        resume=args.resume,
        keep_going=args.keep_going,
        progress=not args.no_progress,
        artifacts_dir=args.artifacts,
        shard=shard,
        executor=args.executor,
    )
    _write(summary_table(measurements_frame([(None, run)])))
    points = points_frame([(None, run)])
    if has_several_seeds(points):
        _write("\nmean and spread over seeds " + str(list(config.seeds)) + ":")
        _write(seed_table(points))
    if not args.no_plots:
        from harness.report.plots import plot_run

        for written in plot_run(run, args.plots):
            log.info("wrote %s", written)
    errors = [m.error for m in run.measurements] + [p.error for p in run.points]
    failed = [e for e in errors if e and not is_unreachable(e)]
    return EXIT_FAILED if failed else EXIT_OK


def _prepare(args: argparse.Namespace) -> int:
    from harness.sweep.prepare import prepare

    prepare(_config(args), install=True, progress=not args.no_progress)
    return EXIT_OK


def _finetune(args: argparse.Namespace) -> int:
    from harness.sweep.prepare import prepare

    prepare(_config(args), install=False, progress=not args.no_progress)
    return EXIT_OK


def _plot(args: argparse.Namespace) -> int:
    from harness.report.plots import plot_runs

    check_writable_folder(args.out)
    plotted = plot_runs(args.runs, args.out)  # unreadable files: named in a warning, skipped
    if not plotted:
        raise UsageError(
            f"no readable results .json files under {[str(p) for p in args.runs]} "
            "(unreadable ones are named in the warnings above)"
        )
    for figures in plotted.values():
        for written in figures:
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


def _accuracy(args: argparse.Namespace) -> int:
    from harness.report.markdown_page import markdown_table
    from harness.report.seeds import accuracy_table
    from harness.results.frame import points_frame
    from harness.results.records import read_run

    if not args.run.is_file():
        raise UsageError(f"results file {str(args.run)!r} does not exist")
    points = points_frame([(None, read_run(args.run))])
    if points.empty:
        raise UsageError(f"{args.run} has no prune points yet; run or resume its sweep")
    seeds = sorted(points["seed"].unique()) if "seed" in points else [0]
    _write(f"{args.run.name}: seeds {[int(s) for s in seeds]}")
    _write(markdown_table(accuracy_table(points)))
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "prepare": _prepare,
    "accuracy": _accuracy,
    "finetune": _finetune,
    "sweep": _sweep,
    "plot": _plot,
    "compare": _compare,
    **cli_distributed.COMMANDS,
    **gate_command.COMMANDS,
    **report_command.COMMANDS,
}


LOG_LEVELS = {1: logging.DEBUG, 0: logging.INFO, -1: logging.WARNING, -2: logging.ERROR}


def _configure_logging(verbosity: int) -> None:
    level = LOG_LEVELS[min(max(verbosity, -2), 1)]
    # No-op when logging is configured already (an embedding program, pytest).
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process was, so that it unwinds (temp files, locks) like
    Ctrl-C does and ends with a message instead of silently."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `kprune-bench` and `python -m harness`; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has written its usage message
        return int(exit_.code or 0)
    _configure_logging(args.verbose - args.quiet)
    try:
        with _sigterm_unwinds():
            return COMMANDS[args.command](args)
    except KeyboardInterrupt as stop:
        how = "stopped by SIGTERM" if isinstance(stop, Terminated) else "interrupted"
        sys.stderr.write(
            f"kprune-bench {args.command}: {how}; every finished point is stored "
            "(sweep: rerun the same command with --resume to continue)\n"
        )
        return EXIT_FAILED
    except Exception as error:  # typed errors become one line; anything else is a bug: re-raise
        cause = None if isinstance(error, HarnessError) else storage_cause(error)
        if cause is not None:  # a full, read-only or forbidden folder is the user's to fix
            error = storage_error(cause, "run again (sweep: with --resume)")
        if not (isinstance(error, HarnessError) or is_usage_error(error)):
            raise
        kind = "error" if exit_code(error) == EXIT_USAGE else "failed"
        sys.stderr.write(f"kprune-bench {args.command}: {kind}: {error}\n")
        return exit_code(error)
