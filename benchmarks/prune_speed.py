"""Kprune's prune time on the bundled model with the paper's calibration protocol, next to the
full-pass reference loop in the same run, masks compared.

The protocol: N real train tokens of the default task drawn in a seeded random order (no sorting
by length), batches of 32 with dynamic padding, max length 128. Per token budget and ratio the
fast loop (defaults: cached inputs, packed tokens) and the reference loop (a full padded pass from
the embeddings every step, as the official code runs) alternate, fast first, so drift hits both.

    python -m benchmarks.prune_speed --tokens 4096 32768 100000 --ratios 0.6 0.4 0.2 \
        --json bench_results/prune_speed/minilm_rt.json

Raw seconds per run, CPU seconds, the per-phase breakdown of each run (kprune.phase_timer), the
mask comparison and the machine's fingerprint go to the JSON file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from harness.config.load import load_config
from harness.config.schema import CalibrationSpec
from harness.measure.evaluation import evaluate
from harness.results.environment import collect_environment
from harness.runtimes.torch_runtime import torch_predictor
from harness.sweep.stages import load_inputs
from kprune import KpruneConfig, prune

# KpruneConfig settings per loop: the defaults; the loop before packing (cached inputs, padded
# batches); the official code's loop (a full padded pass from the embeddings every step)
LOOPS: dict[str, dict[str, bool]] = {
    "fast": {},
    "cached_padded": {"pack_tokens": False},
    "reference": {"cache_inputs": False, "pack_tokens": False},
}


def _accuracy(inputs: Any, model: torch.nn.Module) -> dict[str, Any]:
    """The task metric of ``model`` on the whole dev split (PyTorch, float32)."""
    task = inputs.config.task
    result = evaluate(
        torch_predictor(model),
        inputs.task,
        inputs.tokenizer,
        batch_size=task.eval_batch_size,
        max_length=task.max_length,
    )
    return {"name": result.name, "value": result.value, "examples": result.count}


def _run(
    model: torch.nn.Module, batches: list, config: KpruneConfig, score: Any | None
) -> dict[str, Any]:
    started, cpu_started = time.perf_counter(), time.process_time()
    result = prune(model, batches, config)
    phases: Counter[str] = Counter()
    for entry in result.sublayers:
        phases.update(entry.phase_seconds)
    return {
        "wall_s": time.perf_counter() - started,
        # CPU time is less sensitive than wall time to other processes on a shared machine
        "cpu_s": time.process_time() - cpu_started,
        "phase_s": {name: round(value, 3) for name, value in phases.most_common()},
        "heads_kept": int(result.masks.head_keep.sum()),
        "neurons_kept": int(result.masks.neuron_keep.sum()),
        "kept_flops_ratio": result.flops.ratio,
        "_masks": (result.masks.head_keep.clone(), result.masks.neuron_keep.clone()),
        "metric": score(result.model) if score is not None else None,
    }


def _same_masks(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a["_masks"], b["_masks"]))


def _calibration(preset: str, tokens: int, seed: int, order: str) -> tuple[Any, int, int]:
    config = load_config(preset)
    spec = CalibrationSpec(
        num_tokens=tokens,
        batch_size=32,
        max_length=128,
        seed=seed,
        sort_by_length=order == "sorted",
        replacement=False,  # as the committed bench_results/prune_speed runs were drawn
    )
    inputs = load_inputs(
        dataclasses.replace(config, calibration=spec), progress=False, calibrate=True
    )
    real = sum(int(b["attention_mask"].sum()) for b in inputs.batches)
    padded = sum(int(b["attention_mask"].numel()) for b in inputs.batches)
    return inputs, real, padded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="default", help="whose model and task (default)")
    parser.add_argument("--tokens", type=int, nargs="+", default=[4096, 32768, 100_000])
    parser.add_argument("--ratios", type=float, nargs="+", default=[0.6, 0.4, 0.2])
    parser.add_argument("--loops", nargs="+", choices=sorted(LOOPS), default=["fast", "reference"])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0, help="calibration draw")
    parser.add_argument(
        "--order",
        choices=["random", "sorted"],
        default="random",
        help="batches in the draw's random order (the paper's protocol) or sorted by length",
    )
    parser.add_argument(
        "--evaluate",
        action="store_true",
        help="score each fast-loop model on the whole dev split (the other loops' masks are "
        "compared instead)",
    )
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    report: dict[str, Any] = {
        "format": "kprune-bench/prune-speed",
        "version": 1,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python -m benchmarks.prune_speed "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "torch_threads": torch.get_num_threads(),
        "loops": {name: LOOPS[name] for name in args.loops},
        "environment": collect_environment(),
        "points": [],
    }
    all_identical = True
    for tokens in args.tokens:
        inputs, real, padded = _calibration(args.preset, tokens, args.seed, args.order)
        model, batches = inputs.model, inputs.batches
        score = (lambda pruned, i=inputs: _accuracy(i, pruned)) if args.evaluate else None
        if args.evaluate and tokens == args.tokens[0]:
            report["dense_metric"] = _accuracy(inputs, model)
        for ratio in args.ratios:
            load_before = os.getloadavg()
            runs = {
                name: _run(
                    model,
                    batches,
                    KpruneConfig(target_flops_ratio=ratio, **LOOPS[name]),
                    score if name == "fast" else None,
                )
                for name in args.loops
            }
            point: dict[str, Any] = {
                "model": inputs.description,
                "calibration_tokens": real,
                "padded_positions": padded,
                "batches": len(batches),
                "batch_order": args.order,
                "calibration_seed": args.seed,
                "target_flops_ratio": ratio,
                "loadavg_before": load_before,
                "loadavg_after": os.getloadavg(),
            }
            if "fast" in runs and "reference" in runs:
                point["wall_speedup"] = runs["reference"]["wall_s"] / runs["fast"]["wall_s"]
                point["cpu_speedup"] = runs["reference"]["cpu_s"] / runs["fast"]["cpu_s"]
            for name, run in runs.items():
                if name != "fast" and "fast" in runs:
                    identical = _same_masks(runs["fast"], run)
                    point[f"masks_identical_to_{name}"] = identical
                    all_identical &= identical
            point["runs"] = {
                name: {k: v for k, v in run.items() if not k.startswith("_")}
                for name, run in runs.items()
            }
            report["points"].append(point)
            summary = {k: v for k, v in point.items() if k != "runs"}
            summary.update({f"{n}_wall_s": round(r["wall_s"], 1) for n, r in runs.items()})
            print(json.dumps(summary), flush=True)  # noqa: T201 - progress of a long benchmark
            if args.json:  # after every point: a later failure keeps what was measured
                Path(args.json).parent.mkdir(parents=True, exist_ok=True)
                Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if len(report["points"]) > 1 and "fast" in args.loops and "reference" in args.loops:
        speedups = [p["wall_speedup"] for p in report["points"]]
        median = statistics.median(speedups)
        print(f"wall speedup over the reference loop: median {median:.2f}")  # noqa: T201
    return 0 if all_identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
