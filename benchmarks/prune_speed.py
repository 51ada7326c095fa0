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

The official code itself runs as loop ``official`` when given its environment: a Python with
transformers==4.25.1, safetensors, numpy<2 and scipy (``--official-python``) and the src/ folder of
a K-prune checkout (``--official-src``). The batches and the model are written to a scratch folder
and benchmarks/official_code.py prunes them there, in a subprocess, between the other loops:

    python -m benchmarks.prune_speed --loops fast official --official-python OFF/bin/python \
        --official-src K-prune/src --tokens 100000 --ratios 0.6 0.4 0.2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
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


OFFICIAL_SCRIPT = Path(__file__).with_name("official_code.py")


class OfficialCodeError(RuntimeError):
    """The official code's run failed; the message carries its stderr's tail."""


def _write_official_inputs(folder: Path, model: torch.nn.Module, batches: list) -> None:
    """The batches and the model where official_code.py reads them."""
    plain = [{k: v.detach().cpu().clone() for k, v in b.items()} for b in batches]
    torch.save({"batches": plain}, folder / "batches.pt")
    model.save_pretrained(folder / "model")


def _run_official(
    python: str, src: str, folder: Path, ratio: float, threads: int
) -> dict[str, Any]:
    command = [python, str(OFFICIAL_SCRIPT), "--src", src, "--data", str(folder)]
    command += ["--kept", str(ratio), "--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OfficialCodeError(f"the official code failed: {done.stderr.strip()[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    head_keep = torch.tensor(out["head_keep"], dtype=torch.bool)
    neuron_keep = torch.tensor(out["neuron_keep"], dtype=torch.bool)
    return {
        "wall_s": out["wall_s"],
        "cpu_s": out["cpu_s"],
        "phase_s": {},
        "heads_kept": int(head_keep.sum()),
        "neurons_kept": int(neuron_keep.sum()),
        "versions": {"transformers": out["transformers"], "torch": out["torch"]},
        "_masks": (head_keep, neuron_keep),
        "metric": None,
    }


def _check_official(args: argparse.Namespace) -> str | None:
    """Why the official loop cannot run with these arguments, or None."""
    if "official" not in args.loops:
        return None
    if not args.official_python or not args.official_src:
        return "--loops official needs --official-python and --official-src"
    if not Path(args.official_python).is_file():
        return f"--official-python {args.official_python}: no such file"
    if not (Path(args.official_src) / "prune.py").is_file():
        return f"--official-src {args.official_src}: not the src/ folder of a K-prune checkout"
    return None


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
    parser.add_argument(
        "--loops", nargs="+", choices=[*sorted(LOOPS), "official"], default=["fast", "reference"]
    )
    parser.add_argument("--official-python", help="Python of the official code's environment")
    parser.add_argument("--official-src", help="src/ folder of a K-prune checkout")
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
    problem = _check_official(args)
    if problem is not None:
        parser.error(problem)  # exits 2
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    report: dict[str, Any] = {
        "format": "kprune-bench/prune-speed",
        "version": 1,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python -m benchmarks.prune_speed "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "torch_threads": torch.get_num_threads(),
        "loops": {
            name: LOOPS.get(name, {"official_code": "snudm-starlab/K-prune"}) for name in args.loops
        },
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
        scratch = tempfile.TemporaryDirectory(prefix="kprune-official-")
        if "official" in args.loops:
            _write_official_inputs(Path(scratch.name), model, batches)
        for ratio in args.ratios:
            load_before = os.getloadavg()
            runs = {}
            for name in args.loops:
                if name == "official":
                    try:
                        runs[name] = _run_official(
                            args.official_python,
                            args.official_src,
                            Path(scratch.name),
                            ratio,
                            args.threads,
                        )
                    except OfficialCodeError as error:  # the points so far are in --json
                        print(f"error: {error}", file=sys.stderr)  # noqa: T201
                        return 2
                    continue
                config = KpruneConfig(target_flops_ratio=ratio, **LOOPS[name])
                runs[name] = _run(model, batches, config, score if name == "fast" else None)
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
            for other in ("reference", "official"):
                if "fast" in runs and other in runs:
                    suffix = "" if other == "reference" else "_over_official"
                    fast = runs["fast"]
                    point[f"wall_speedup{suffix}"] = runs[other]["wall_s"] / fast["wall_s"]
                    point[f"cpu_speedup{suffix}"] = runs[other]["cpu_s"] / fast["cpu_s"]
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
        scratch.cleanup()
    for key, what in (
        ("wall_speedup", "reference loop"),
        ("wall_speedup_over_official", "official code"),
    ):
        speedups = [p[key] for p in report["points"] if key in p]
        if len(speedups) > 1:
            median = statistics.median(speedups)
            print(f"wall speedup over the {what}: median {median:.2f}")  # noqa: T201
    return 0 if all_identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
