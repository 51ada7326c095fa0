"""The Kprune loop (cached inputs, packed tokens) vs the reference's full padded pass every step,
timed side by side in one run, on a random MiniLM-shaped model (benchmarks/prune_speed.py does
the same on the bundled fine-tuned model and its real text).

Prunes a MiniLM-sized random BERT (6 layers, hidden 384, 12 heads, FFN 1536) on random
calibration tokens, alternating the two loops (A B A B ...) so machine drift hits both, checks
that both give identical masks, and prints the per-run seconds and the speedup (median ratio).

    python -m benchmarks.prune_loop [--repeats 3] [--sequences 256] [--seq-len 64] [--ratio 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch
from transformers import BertConfig, BertForSequenceClassification

from kprune import KpruneConfig, prune
from kprune.arch import EncoderAccess
from kprune.forward import gate_gradients, gradient_gates, model_outputs


def minilm_shaped_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=384,
        num_hidden_layers=6,
        num_attention_heads=12,
        intermediate_size=1536,
        num_labels=2,
    )
    return BertForSequenceClassification(config).eval()


def random_batches(
    sequences: int, seq_len: int, batch_size: int = 32, seed: int = 1
) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    batches = []
    for start in range(0, sequences, batch_size):
        size = min(batch_size, sequences - start)
        lengths = torch.randint(seq_len // 4, seq_len + 1, (size,), generator=g)
        longest = int(lengths.max())
        mask = (torch.arange(longest)[None, :] < lengths[:, None]).long()
        ids = torch.randint(1000, 30000, (size, longest), generator=g) * mask
        batches.append({"input_ids": ids, "attention_mask": mask})
    return batches


def _gate_loss(logits: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(logits, dim=-1).sum()


def kprune_gate_gradients(
    model: torch.nn.Module, batch: dict[str, torch.Tensor]
) -> dict[int, torch.Tensor]:
    """One forward and backward to every sublayer's gate through kprune's functional forward
    (padded, from the embeddings: one step of the full-pass loop)."""
    access = EncoderAccess(model)
    gates = gradient_gates(access, 0, "cpu")
    with torch.enable_grad():
        return gate_gradients(_gate_loss(model_outputs(access, batch, gates)), gates)


def hf_gate_gradients(
    model: torch.nn.Module, batch: dict[str, torch.Tensor]
) -> dict[int, torch.Tensor]:
    """The same gradients through HF's own BERT module forward, the gates applied by hooks (as
    the official code masks a model): per context dim on the attention output projection's
    input, per neuron on the FFN's activations. Keyed by kprune's sublayer index."""
    layers = model.bert.encoder.layer
    gates: dict[int, torch.Tensor] = {}
    hooks = []
    for i, layer in enumerate(layers):
        dense = layer.attention.output.dense
        gates[2 * i] = torch.ones(dense.in_features, requires_grad=True)
        gates[2 * i + 1] = torch.ones(layer.intermediate.dense.out_features, requires_grad=True)
        hooks.append(
            dense.register_forward_pre_hook(lambda _m, args, g=gates[2 * i]: (args[0] * g,))
        )
        hooks.append(
            layer.intermediate.register_forward_hook(
                lambda _m, _args, out, g=gates[2 * i + 1]: out * g
            )
        )
    try:
        with torch.enable_grad():
            loss = _gate_loss(model(**batch).logits)
            return gate_gradients(loss, gates)
    finally:
        for hook in hooks:
            hook.remove()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sequences", type=int, default=256)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--ratio", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--json", help="also write the raw result to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = minilm_shaped_model()
    batches = random_batches(args.sequences, args.seq_len)
    tokens = sum(int(b["attention_mask"].sum()) for b in batches)
    wall: dict[str, list[float]] = {"cached": [], "full_pass": []}
    cpu: dict[str, list[float]] = {"cached": [], "full_pass": []}
    masks: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {"cached": [], "full_pass": []}
    load_before = os.getloadavg()
    for _ in range(args.repeats):
        for name, cached in (("cached", True), ("full_pass", False)):
            # "full_pass" is the official code's loop: a full padded pass every step
            config = KpruneConfig(
                target_flops_ratio=args.ratio, cache_inputs=cached, pack_tokens=cached
            )
            started, cpu_started = time.perf_counter(), time.process_time()
            result = prune(model, batches, config)
            wall[name].append(time.perf_counter() - started)
            # CPU time is less sensitive than wall time to other processes on a shared machine.
            cpu[name].append(time.process_time() - cpu_started)
            masks[name].append((result.masks.head_keep, result.masks.neuron_keep))
    identical = all(
        torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
        for a in masks["cached"]
        for b in masks["full_pass"]
    )
    wall_ratios = [f / c for c, f in zip(wall["cached"], wall["full_pass"])]
    cpu_ratios = [f / c for c, f in zip(cpu["cached"], cpu["full_pass"])]
    report = {
        "model": "random BERT 6x384, 12 heads, FFN 1536",
        "calibration_tokens": tokens,
        "calibration_sequences": args.sequences,
        "batches": len(batches),
        "target_flops_ratio": args.ratio,
        "torch_threads": torch.get_num_threads(),
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "wall_speedup_per_pair": wall_ratios,
        "wall_speedup_median": statistics.median(wall_ratios),
        "cpu_speedup_per_pair": cpu_ratios,
        "cpu_speedup_median": statistics.median(cpu_ratios),
        "masks_identical": identical,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
    }
    text = json.dumps(report, indent=2)
    print(text)  # noqa: T201 - this script's output is its report
    if args.json:
        with open(args.json, "w") as handle:
            handle.write(text)
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
