"""Does `torch.compile` of kprune's sublayer step pay on CPU? Compile seconds against the
per-prune gain, masks compared.

The fast loop (cached inputs, packed tokens) on the bundled model with the paper's protocol
(random order, batches of 32, dynamic padding), kept 0.4, four prunes in one process: eager,
compiled (the first compiled prune pays the compilation), compiled again (warm), eager again.
`kprune.forward.sublayer_forward` is swapped for its `torch.compile(dynamic=True)` version for the
gated student passes (forward_from); teacher and cut passes stay eager. kprune has no compile
option: this measures whether it should.

    python -m benchmarks.compile_probe --tokens 4096 --threads 1 \
        --json bench_results/prune_speed/compile_probe.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

import kprune.forward as forward
from benchmarks.prune_speed import _calibration, _run, _same_masks
from harness.results.environment import collect_environment
from kprune import KpruneConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=4096)
    parser.add_argument("--ratio", type=float, default=0.4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    inputs, real, padded = _calibration("default", args.tokens, 0, "random")
    config = KpruneConfig(target_flops_ratio=args.ratio)
    eager = forward.sublayer_forward
    compiled = torch.compile(eager, dynamic=True)
    runs: dict[str, dict[str, Any]] = {}
    order = [("eager", eager), ("compiled_cold", compiled), ("compiled_warm", compiled)]
    try:
        for name, step in [*order, ("eager_again", eager)]:
            forward.sublayer_forward = step  # type: ignore[assignment]
            runs[name] = _run(inputs.model, inputs.batches, config, None)
            print(name, round(runs[name]["wall_s"], 2), "s", flush=True)  # noqa: T201
    finally:
        forward.sublayer_forward = eager  # type: ignore[assignment]
    report = {
        "command": "python -m benchmarks.compile_probe "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "calibration_tokens": real,
        "padded_share": 1 - real / padded,
        "torch_threads": torch.get_num_threads(),
        "same_masks_as_eager": {n: _same_masks(runs["eager"], r) for n, r in runs.items()},
        "runs": {n: {k: v for k, v in r.items() if k != "_masks"} for n, r in runs.items()},
        "environment": collect_environment(),
    }
    print(json.dumps(report["same_masks_as_eager"]))  # noqa: T201
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
