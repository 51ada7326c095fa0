"""Kprune's accuracy as a function of how the calibration set is drawn: its size in real tokens,
batch order (random draw order, as the official code, or sorted by length) and sampling with or
without replacement, over several calibration seeds, on a preset's model (default: the bundled
MiniLM fine-tuned on Rotten Tomatoes), scored on the whole dev split.

    # protocol at equal tokens (what `CalibrationSpec`'s defaults are chosen from)
    python -m benchmarks.calibration_protocol --tokens 4096 --orders random sorted \
        --replacement no yes --seeds 0 1 2 3 --ratios 0.5 0.3 \
        --json bench_results/calibration/protocol.json
    # accuracy vs calibration tokens
    python -m benchmarks.calibration_protocol --tokens 4096 16384 32768 100000 \
        --ratios 0.5 0.3 --json bench_results/calibration/tokens.json
    # Kprune variants from the same draw (any registry name: kprune-sampled, kprune-no-tuning)
    python -m benchmarks.calibration_protocol --preset mpnet --methods kprune kprune-sampled \
        --ratios 0.5 --json bench_results/calibration/mpnet_variants.json

Every run (accuracy, prune seconds, kept heads and neurons per layer, tokens, padded positions,
distinct rows) goes to the JSON file after each prune, so an interruption keeps what was
measured; the mean and spread per setting are printed as a Markdown table at the end (`--table`
re-prints it from a JSON file).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from harness.config.load import load_config
from harness.config.methods import check_methods, method_config
from harness.data.calibration import sample_calibration_batches
from harness.errors import ConfigError
from harness.measure.evaluation import evaluate
from harness.report.markdown_page import markdown_table
from harness.results.environment import collect_environment
from harness.runtimes.torch_runtime import torch_predictor
from harness.sweep.stages import load_inputs
from kprune import prune

SETTING = ["method", "tokens", "order", "replacement", "target_flops_ratio"]


def _accuracy(inputs: Any, model: torch.nn.Module) -> float:
    """The task metric on the whole dev split (PyTorch, float32)."""
    task = inputs.config.task
    predictor = torch_predictor(model)
    result = evaluate(
        predictor,
        inputs.task,
        inputs.tokenizer,
        batch_size=task.eval_batch_size,
        max_length=task.max_length,
    )
    return float(result.value)


def _distinct_rows(batches: list[dict[str, torch.Tensor]]) -> int:
    rows = set()
    for batch in batches:
        for ids, mask in zip(batch["input_ids"], batch["attention_mask"], strict=True):
            rows.add(tuple(ids[mask.bool()].tolist()))
    return len(rows)


def table(runs: list[dict[str, Any]]) -> str:
    """Mean, sample standard deviation and count of the accuracy and prune seconds per setting."""
    frame = pd.DataFrame(runs)
    if "method" not in frame:  # files written before --methods existed: plain Kprune
        frame["method"] = "kprune"
    grouped = frame.groupby(SETTING, sort=False)
    summary = grouped.agg(
        accuracy_mean=("accuracy", "mean"),
        accuracy_std=("accuracy", "std"),
        seeds=("seed", "nunique"),
        prune_s_mean=("prune_s", "mean"),
        padded_share=("padded_share", "mean"),
    ).reset_index()
    return markdown_table(summary.round(4))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="default", help="whose model, task and lengths")
    parser.add_argument("--tokens", type=int, nargs="+", default=[4096])
    parser.add_argument(
        "--orders", nargs="+", choices=["random", "sorted"], help="default: the preset's"
    )
    parser.add_argument(
        "--replacement", nargs="+", choices=["no", "yes"], help="default: the preset's"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--methods", nargs="+", default=["kprune"], help="method or variant names (registry)"
    )
    parser.add_argument("--ratios", type=float, nargs="+", default=[0.5, 0.3])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", help="write every run here (rewritten after each prune)")
    parser.add_argument("--table", help="only print the table of this stored JSON file")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(Path(args.table).read_text())["runs"]))  # noqa: T201
        return 0
    try:
        check_methods(tuple(args.methods))
    except ConfigError as error:
        parser.error(str(error))  # exit 2 with the known names, no traceback
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    config = load_config(args.preset)
    drawn = config.calibration
    args.orders = args.orders or ["sorted" if drawn.sort_by_length else "random"]
    args.replacement = args.replacement or ["yes" if drawn.replacement else "no"]
    inputs = load_inputs(config, progress=False, calibrate=False)
    report: dict[str, Any] = {
        "format": "kprune-bench/calibration-protocol",
        "version": 1,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python -m benchmarks.calibration_protocol "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "preset": args.preset,
        "model": inputs.description,
        "dev_examples": len(inputs.task.dev),
        "dense_accuracy": _accuracy(inputs, inputs.model),
        "torch_threads": torch.get_num_threads(),
        "environment": collect_environment(),
        "runs": [],
    }
    for tokens in args.tokens:
        for order in args.orders:
            for replacement in args.replacement:
                for seed in args.seeds:
                    spec = dataclasses.replace(
                        config.calibration,
                        num_tokens=tokens,
                        seed=seed,
                        sort_by_length=order == "sorted",
                        replacement=replacement == "yes",
                    )
                    batches = sample_calibration_batches(
                        inputs.task,
                        inputs.tokenizer,
                        spec,
                        max_length=config.calibration_max_length,
                    )
                    real = sum(int(b["attention_mask"].sum()) for b in batches)
                    padded = sum(int(b["attention_mask"].numel()) for b in batches)
                    for method, ratio in itertools.product(args.methods, args.ratios):
                        options = method_config(config.method_options, method, ratio)
                        started = time.perf_counter()
                        result = prune(inputs.model, batches, options)
                        run = {
                            "method": method,
                            "tokens": tokens,
                            "order": order,
                            "replacement": replacement,
                            "seed": seed,
                            "target_flops_ratio": ratio,
                            "real_tokens": real,
                            "padded_share": 1.0 - real / padded,
                            "batches": len(batches),
                            "distinct_rows": _distinct_rows(batches),
                            "rows": sum(len(b["input_ids"]) for b in batches),
                            "prune_s": time.perf_counter() - started,
                            "achieved_flops_ratio": result.flops.ratio,
                            "heads_per_layer": result.masks.head_keep.sum(dim=1).tolist(),
                            "neurons_per_layer": result.masks.neuron_keep.sum(dim=1).tolist(),
                            "accuracy": _accuracy(inputs, result.model),
                            "loadavg": os.getloadavg(),
                        }
                        report["runs"].append(run)
                        print(json.dumps(run), flush=True)  # noqa: T201 - progress
                        if args.json:
                            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
                            Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    print(f"dense accuracy {report['dense_accuracy']:.4f}")  # noqa: T201
    print(table(report["runs"]))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
