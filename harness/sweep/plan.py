"""Expand a `BenchmarkConfig` into prune points and timing trials, with stable keys (pure).

A point is one (method, kept-FLOPs ratio) model: pruned once, reused by every trial at that
point. Ratio 1.0 is the dense reference, planned once as method "dense" (never pruned).
The keys are what `--resume` matches against stored measurements.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from harness.config.schema import BenchmarkConfig
from harness.results.keys import DENSE_METHOD
from harness.sweep.types import ArtifactKey, Point, Trial

log = logging.getLogger(__name__)


def expand_points(config: BenchmarkConfig) -> list[Point]:
    """Per seed (config order): dense first (when 1.0 is swept), then each method at each ratio
    below 1.0, config order. A seed's points are contiguous, so its inputs load once."""
    points = []
    for seed in config.seeds:
        points += [Point(DENSE_METHOD, 1.0, seed)] if 1.0 in config.flops_ratios else []
        points += [
            Point(method, ratio, seed)
            for method in config.methods
            for ratio in config.flops_ratios
            if ratio < 1.0
        ]
    return points


def expand_trials(config: BenchmarkConfig) -> list[Trial]:
    """Cross product point x runtime x batch size x sequence length, grouped by point."""
    return [
        Trial(point, runtime, batch_size, seq_len)
        for point in expand_points(config)
        for runtime in config.runtimes
        for batch_size in config.batch_sizes
        for seq_len in config.seq_lens
    ]


def trials_by_point(trials: Iterable[Trial]) -> dict[Point, list[Trial]]:
    """Trials grouped by their point, in first-seen order."""
    groups: dict[Point, list[Trial]] = {}
    for trial in trials:
        groups.setdefault(trial.point, []).append(trial)
    return groups


def artifacts_needed(config: BenchmarkConfig, trials: Iterable[Trial]) -> set[ArtifactKey]:
    """The exported artifacts a point's trials load (the fp32 graph too when `export` is on)."""
    needed = {trial.artifact for trial in trials if trial.artifact[0] != "module"}
    if config.export:
        needed.add(("onnx", "float32"))
    return needed


def describe_plan(config: BenchmarkConfig) -> str:
    """A human-readable plan (what `sweep --dry-run` prints)."""
    trials = expand_trials(config)
    groups = trials_by_point(trials)
    runtimes = ", ".join(runtime.name for runtime in config.runtimes)
    m, lm = config.model, config.language_model
    task = f"task: {config.task.name}"
    if lm is not None:
        task = (
            f"causal LM: perplexity on {lm.eval_text}, calibration from {lm.calibration_text}, "
            f"decode {lm.new_tokens} tokens"
        )
    lines = [
        f"config {config.name}: {config.description}".rstrip(": "),
        "model: " + " ".join(filter(None, (m.source, m.name, m.description))),
        f"{task}; methods: {', '.join(config.methods)}; budget: kept {config.budget}; "
        f"seeds: {list(config.seeds)}",
        f"runtimes: {runtimes}; batch sizes: {list(config.batch_sizes)}; "
        f"seq lens: {list(config.seq_lens)}",
        f"{len(groups)} points, {len(trials)} trials:",
    ]
    lines += [f"  {point.key:<24} {len(group)} trials" for point, group in groups.items()]
    return "\n".join(lines)
