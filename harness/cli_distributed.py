"""The command line past one machine: `plan CFG --shards N`, `merge DIRS... --out DIR`, and the
`sweep` flags `--shard I/N`, `--shard-from-env [--shards N]` and `--executor local|ray`.

Parses and calls; the rules live in `sweep.shards`, `sweep.executors` and `results.merge`.
Registered by `harness.cli` with a few lines.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.config.load import apply_overrides, load_config
from harness.config.schema import BenchmarkConfig
from harness.errors import EXIT_FAILED, EXIT_OK, UsageError

log = logging.getLogger(__name__)


def _write(text: str) -> None:
    sys.stdout.write(text.rstrip("\n") + "\n")  # the command's output, not a log line


def add_sweep_flags(sweep: argparse.ArgumentParser) -> None:
    """`--shard`, `--shard-from-env`, `--shards` and `--executor` on `sweep`."""
    group = sweep.add_argument_group("past one machine (docs/distributed.md)")
    which = group.add_mutually_exclusive_group()
    which.add_argument(
        "--shard", metavar="I/N", help="run shard I of N (0-based): its points and the dense one"
    )
    which.add_argument(
        "--shard-from-env",
        action="store_true",
        help="the shard index from SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN) or "
        "JOB_COMPLETION_INDEX; the count from SLURM_ARRAY_TASK_COUNT or --shards",
    )
    group.add_argument("--shards", type=int, metavar="N", help="shard count for --shard-from-env")
    group.add_argument(
        "--executor",
        default="local",
        help="who runs the points: local (this process, default) or ray (a Ray cluster; "
        "pip install 'kprune-bench[ray]')",
    )


def sweep_shard(args: argparse.Namespace, config: BenchmarkConfig) -> Any:
    """The `Shard` the sweep flags name, or None (the whole plan)."""
    from harness.sweep.shards import assign_shards, parse_shard, shard_from_env

    if args.shard is not None:
        if args.shards is not None:
            raise UsageError("--shards goes with --shard-from-env; --shard I/N names the count")
        index, count = parse_shard(args.shard)
    elif args.shard_from_env:
        index, count = shard_from_env(os.environ, args.shards)
    elif args.shards is not None:
        raise UsageError("--shards needs --shard-from-env (or write --shard I/N)")
    else:
        return None
    return assign_shards(config, count)[index]


def write_shard(config: BenchmarkConfig, shard: Any) -> None:
    """After the plan, under `sweep --dry-run --shard I/N`: the shards, and which one runs."""
    if shard is not None:
        from harness.sweep.shards import describe_shards

        _write(describe_shards(config, shard.count))
        _write(f"this process runs shard {shard.label}")


def add_commands(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """The `plan` and `merge` subcommands."""
    plan = command("plan", "show the sweep's points and trials, or its shards with --shards N")
    plan.add_argument("config", help="preset name or path to a .toml file")
    plan.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    plan.add_argument("--shards", type=int, metavar="N", help="split into N shards")
    merge = command("merge", "merge shard runs (files or folders) into one run")
    merge.add_argument("runs", nargs="+", type=Path, help="results .json files or folders")
    merge.add_argument("--out", type=Path, required=True, help="results folder of the merged run")
    merge.add_argument(
        "--prefer",
        metavar="RULE",
        help="which run wins a conflicting duplicate: newest, oldest, shard:N or run:RUN_ID",
    )


def _plan(args: argparse.Namespace) -> int:
    from harness.sweep.plan import describe_plan
    from harness.sweep.shards import describe_shards

    config = apply_overrides(load_config(args.config), args.overrides)
    _write(describe_plan(config) if args.shards is None else describe_shards(config, args.shards))
    return EXIT_OK


def _merge(args: argparse.Namespace) -> int:
    from harness.results.atomic_files import check_writable_folder
    from harness.results.frame import run_files
    from harness.results.merge import describe_merge, merge_runs, write_merged
    from harness.results.merge_plan import parse_preference
    from harness.results.records import read_run

    prefer = parse_preference(args.prefer)
    check_writable_folder(args.out)
    files = run_files(args.runs)
    if not files:
        raise UsageError(f"no results .json files under {[str(p) for p in args.runs]}")
    result = merge_runs([read_run(path) for path in files], prefer)  # a bad file: exit 2
    _write(describe_merge(result))
    same = _stored_copy(args.out, result.run)
    if same is not None:
        _write(f"unchanged: {same}")
    else:
        _write(f"wrote {write_merged(result, args.out)}")
    return EXIT_OK if result.complete else EXIT_FAILED


def _stored_copy(out: Path, run: Any) -> Path | None:
    """An existing file in `out` that holds exactly this merged run (merging again writes
    nothing new)."""
    from harness.results.frame import run_files
    from harness.results.records import read_run

    folder = out / str(run.environment["machine_id"])
    if not folder.is_dir():
        return None
    for path in run_files([folder]):
        if read_run(path) == run:
            return path
    return None


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"plan": _plan, "merge": _merge}
