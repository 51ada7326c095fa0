"""The device check's running summary and plan (used by tools/gpu_run.sh).

``python tools/gpu_report.py summary WORK MODE`` writes WORK/summary.md from whatever is there:
the steps log, the probe, the tail of the GPU tests, and every results file so far (per ratio,
runtime and batch: median latency with its CI, speedup vs dense with its CI, the predicted
speedup 1/ratio, their quotient, and the metric with what scored it), then the mission's targets.
``plan CONFIG [--set key=value ...]`` prints a sweep's plan without any device check.
``machine-id`` prints the results folder name of this machine. Reads results files only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.results.records import BenchmarkRun, Measurement, ResultsFileError, read_run

TARGET_RATIO, TARGET_EFFICIENCY, TARGET_BATCH = 0.4, 0.9, 32
TARGET_IOBINDING, TARGET_CUDA_GRAPH = 1.3, 2.0


def _ci(value: float | None, low: float | None, high: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    interval = f" [{low:.3g}, {high:.3g}]" if low is not None and high is not None else ""
    return f"{value:.3g}{unit}{interval}"


def _runtime(m: Measurement) -> str:
    return f"{m.backend}-{m.dtype}-{m.variant}"


def _row(m: Measurement) -> str:
    kept = f"{m.target_flops_ratio:g} ({m.achieved_flops_ratio:.3f})"
    head = f"| {kept} | {_runtime(m)} | {m.batch_size} |"
    if m.error or m.latency is None:
        return f"{head} error: {(m.error or 'not timed')[:160]} | | | | |"
    lat = m.latency
    median = _ci(lat.median_ms, lat.ci95_low_ms, lat.ci95_high_ms)
    speedup = _ci(m.speedup_vs_dense, m.speedup_ci95_low, m.speedup_ci95_high, "x")
    ideal = m.ideal_speedup
    quotient = f"{m.speedup_vs_dense / ideal:.2f}" if m.speedup_vs_dense and ideal else "-"
    metric = "-" if m.metric_value is None else f"{m.metric_value:.3f} ({m.metric_source})"
    return f"{head} {median} | {speedup} | {ideal:.2f}x | {quotient} | {metric} |"


def speed_table(run: BenchmarkRun) -> list[str]:
    rows = sorted(
        run.measurements, key=lambda m: (_runtime(m), m.batch_size, -m.target_flops_ratio)
    )
    return [
        "| kept (achieved) | runtime | batch | median ms [95% CI] | speedup vs dense [95% CI] "
        "| predicted | measured/predicted | metric (source) |",
        "|---|---|---|---|---|---|---|---|",
        *(_row(m) for m in rows),
    ]


def _median(rows: Iterable[Measurement], **match: Any) -> float | None:
    for m in rows:
        if m.latency and not m.error and all(getattr(m, k) == v for k, v in match.items()):
            return m.latency.median_ms
    return None


def targets(run: BenchmarkRun) -> list[str]:
    """The mission's targets, against what this run measured (missing ones say so)."""
    lines = []
    for m in run.measurements:
        big = m.batch_size >= TARGET_BATCH and m.target_flops_ratio == TARGET_RATIO
        if big and m.speedup_vs_dense and m.ideal_speedup:
            quotient = m.speedup_vs_dense / m.ideal_speedup
            verdict = "meets" if quotient >= TARGET_EFFICIENCY else "below"
            lines.append(
                f"- measured/predicted at kept {TARGET_RATIO}, {_runtime(m)}, batch "
                f"{m.batch_size}: {quotient:.2f} ({verdict} {TARGET_EFFICIENCY})"
            )
    for ratio in sorted({m.target_flops_ratio for m in run.measurements}, reverse=True):
        common = dict(batch_size=1, target_flops_ratio=ratio, dtype="float32")
        eager = _median(run.measurements, backend="torch", variant="eager", **common)
        for variant, goal in (("iobinding", TARGET_IOBINDING), ("cuda_graph", TARGET_CUDA_GRAPH)):
            ort = _median(run.measurements, backend="onnxruntime", variant=variant, **common)
            if eager and ort:
                lines.append(
                    f"- kept {ratio:g}, batch 1, fp32: torch eager / ORT {variant} = "
                    f"{eager / ort:.2f}x (target >= {goal}x)"
                )
    return lines or [f"- no row at kept {TARGET_RATIO} with batch >= {TARGET_BATCH}, nor pairs"]


def _steps(work: Path) -> list[str]:
    log = work / "steps.log"
    if not log.exists():
        return ["(no step finished yet)"]
    rows = [line.split("\t") for line in log.read_text().splitlines() if line]
    return ["| step | status | seconds | detail |", "|---|---|---|---|"] + [
        "| " + " | ".join((r + ["", "", "", ""])[:4]) + " |" for r in rows
    ]


def _probe(work: Path) -> list[str]:
    path = work / "probe.json"
    if not path.exists():
        return ["(no probe yet)"]
    facts = json.loads(path.read_text())
    keys = ("stop", "gpu", "torch", "torch_cuda", "cudnn", "onnxruntime", "onnxruntime_from")
    lines = [f"- {k}: {facts[k]}" for k in keys if k in facts]
    for name in ("placement_dynamic", "placement_static_b2_s16"):
        place = facts.get(name) or {}
        if "nodes_per_provider" in place:
            lines.append(
                f"- {name}: {place['nodes_per_provider']}, Memcpy {len(place['memcpy'])}, "
                f"off the GPU {len(place['elsewhere'])}"
            )
    return lines


def _run_section(path: Path) -> list[str]:
    run = read_run(path)
    gpus = [g.get("name") for g in run.environment.get("gpus") or []]
    errors = sum(1 for m in run.measurements if m.error)
    return [
        f"## {path.name} (run {run.run_id})",
        f"{run.config.get('description', '')}; GPUs {gpus}; {len(run.points)} points, "
        f"{len(run.measurements)} rows ({errors} errors); state before/after each timing "
        "group and raw samples are in the file",
        "",
        *speed_table(run),
        "",
        "Targets:",
        *targets(run),
        "",
    ]


def summary(work: Path, mode: str) -> str:
    pytest_log = work / "logs" / "pytest-gpu.log"
    tests = pytest_log.read_text().strip().splitlines()[-1:] if pytest_log.exists() else []
    lines = [f"# GPU device check: {mode}", "", *_steps(work), "", "## Probe", *_probe(work), ""]
    lines += ["## pytest -m gpu", *(tests or ["(not run yet)"]), ""]
    for path in sorted((work / "results").rglob("*.json")):
        try:
            lines += _run_section(path)
        except ResultsFileError as error:  # named in the summary; the other files still count
            lines += [f"## {path.name}", f"unreadable: {error}", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    summarize = commands.add_parser("summary")
    summarize.add_argument("work", type=Path)
    summarize.add_argument("mode")
    plan = commands.add_parser("plan")
    plan.add_argument("config")
    plan.add_argument("--set", dest="overrides", action="append", default=[])
    commands.add_parser("machine-id")
    args = parser.parse_args(argv)
    if args.command == "summary":
        (args.work / "summary.md").write_text(summary(args.work, args.mode), encoding="utf-8")
    elif args.command == "plan":
        from harness.config.load import apply_overrides, load_config
        from harness.sweep.plan import describe_plan

        try:
            config = apply_overrides(load_config(args.config), args.overrides)
        except HarnessError as error:  # a bad override in the script: say which, exit 2
            sys.stderr.write(f"plan: {error}\n")
            return 2
        sys.stdout.write(describe_plan(config) + "\n")
    else:
        from harness.results.environment import collect_environment

        sys.stdout.write(f"{collect_environment()['machine_id']}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
