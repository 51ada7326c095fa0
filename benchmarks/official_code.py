"""Run the official K-prune code on the calibration batches benchmarks.prune_speed wrote, on the
CPU, and print its wall and CPU seconds and its masks as one JSON line.

This file runs in the *official code's* environment, not ours: Python with torch,
transformers==4.25.1 (what the official requirements pin), safetensors, numpy<2 and scipy, and a
checkout of https://github.com/snudm-starlab/K-prune. It imports only those, never kprune or
harness. benchmarks.prune_speed starts it (``--official-python``, ``--official-src``); by hand:

    OFFICIAL_PY benchmarks/official_code.py --src K-prune/src --data DIR --kept 0.4

DIR holds ``batches.pt`` (the batches, as prune_speed draws them) and ``model/`` (the fine-tuned
model). The official code moves everything with ``.cuda()``; on a machine without CUDA those calls
are made no-ops here, which is the only change: its knowledge measurement, mask search and
least-squares tuning run as published. Its FLOPs model gets the same sequence length as kprune's
(the calibration batches' mean length), so both search under the same budget.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", required=True, help="the src/ folder of a K-prune checkout")
    parser.add_argument("--data", required=True, help="folder with batches.pt and model/")
    parser.add_argument("--kept", type=float, required=True, help="kept FLOPs ratio")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's own)")
    parser.add_argument("--lam-pred", type=float, default=1.0)
    parser.add_argument("--lam-rep", type=float, default=2.5e-4)
    parser.add_argument("--mu", type=float, default=64.0)
    parser.add_argument("--temperature", type=float, default=2.0)
    args = parser.parse_args(argv)
    src, data = Path(args.src), Path(args.data)
    if not (src / "prune.py").is_file() or not (src / "utils" / "capacity.py").is_file():
        print(f"error: {src} is not the src/ folder of a K-prune checkout", file=sys.stderr)
        return 2
    sys.path.insert(0, str(src))

    import torch
    from transformers import AutoModelForSequenceClassification

    if not torch.cuda.is_available():
        # the official code calls .cuda() on every tensor and module it creates or moves
        torch.Tensor.cuda = lambda self, *a, **k: self  # type: ignore[method-assign]
        torch.nn.Module.cuda = lambda self, *a, **k: self  # type: ignore[method-assign]
    from prune import kprune  # the official code
    from utils.capacity import flops_per_head, flops_per_neuron, get_flops

    if args.threads:
        torch.set_num_threads(args.threads)
    batches = torch.load(data / "batches.pt")["batches"]
    model = AutoModelForSequenceClassification.from_pretrained(str(data / "model"))
    if torch.cuda.is_available():
        model = model.cuda()
        batches = [{k: v.cuda() for k, v in b.items()} for b in batches]
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad = False
    config = model.config
    layers, heads = config.num_hidden_layers, config.num_attention_heads
    head_dim = config.hidden_size // heads
    lengths = torch.cat([b["attention_mask"].sum(dim=1) for b in batches]).double()
    seq_len = float(lengths.mean())
    model_gflops = (
        get_flops(
            [heads] * layers,
            [config.intermediate_size] * layers,
            seq_len,
            head_dim,
            config.hidden_size,
        )
        / 1e9
    )
    head_gflops = flops_per_head(seq_len, head_dim, config.hidden_size) / 1e9
    neuron_gflops = flops_per_neuron(seq_len, config.hidden_size) / 1e9
    device = "cuda" if torch.cuda.is_available() else "cpu"
    head_masks = torch.ones(layers, heads, device=device)
    neuron_masks = torch.ones(layers, config.intermediate_size, device=device)
    logger = logging.getLogger("official-kprune")
    started, cpu_started = time.perf_counter(), time.process_time()
    model, head_masks, neuron_masks = kprune(
        model,
        batches,
        False,
        head_dim,
        args.lam_pred,
        args.lam_rep,
        args.mu,
        args.temperature,
        model_gflops,
        head_gflops,
        neuron_gflops,
        head_masks,
        neuron_masks,
        1.0 - args.kept,  # the official constraint is the share of FLOPs removed
        True,
        logger,
    )
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        json.dumps(
            {
                "kept": args.kept,
                "wall_s": wall_s,
                "cpu_s": cpu_s,
                "seq_len": seq_len,
                "transformers": __import__("transformers").__version__,
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "head_keep": (head_masks > 0).int().tolist(),
                "neuron_keep": (neuron_masks > 0).int().tolist(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
