"""One in-memory trial for the pytest plugin: a dense and a pruned model loaded on a runtime and
bound to the same dummy batch, its trial key, gate settings, and the `extra_info` it reports.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config.gate_spec import GateSpec
from harness.export.io_names import dummy_batch
from harness.gate.artifacts import input_layout
from harness.gate.paired import PairedEstimate
from harness.gate.rounds import Pair, Rounds
from harness.gate.settings import TrialSettings, settings_for
from harness.measure.clock import Timed
from harness.results.environment import collect_environment
from harness.results.keys import trial_key
from harness.runtimes.base import RuntimeSpec, load_runtime


@dataclass
class PreparedTrial:
    key: str
    pair: Pair
    settings: TrialSettings
    info: dict[str, Any]

    def measured_info(self, rounds: Rounds, estimate: PairedEstimate) -> dict[str, Any]:
        """The numbers `kprune-bench gate` reads back from a pytest-benchmark file."""
        return {
            "speedup": estimate.speedup,
            "ci_low": estimate.low,
            "ci_high": estimate.high,
            "confidence": estimate.confidence,
            "rounds": rounds.count,
            "block_calls": self.settings.block_calls,
            "log_ratios": list(estimate.log_ratios),
            "dense_p50_ms": statistics.median(rounds.flat_ms("dense")),
            "pruned_p50_ms": statistics.median(rounds.flat_ms("pruned")),
        }


def _unwrap(pruned: Any) -> tuple[Any, float | None, float | None, int | None]:
    """(model, achieved ratio, target ratio, seed) of a `kprune.PruneResult`, else (pruned, ...)."""
    from kprune import PruneResult

    if isinstance(pruned, PruneResult):
        config = pruned.config
        return pruned.model, pruned.flops.ratio, config.target_flops_ratio, config.seed
    return pruned, None, None, None


def _bound(spec: RuntimeSpec, artifact: Any, batch_size: int, seq_len: int, seed: int) -> Timed:
    model = artifact if spec.artifact == "module" else None
    folder = Path(artifact).parent if model is None else Path(".")
    names, vocab = input_layout(folder, model)
    batch = dummy_batch(batch_size, seq_len, vocab_size=vocab, input_names=names, seed=seed)
    runtime = load_runtime(spec, artifact)
    return Timed(runtime.bind(batch), runtime.sync)


def prepare_trial(
    dense: Any,
    pruned: Any,
    batch_size: int,
    seq_len: int,
    runtime: RuntimeSpec | None,
    method: str,
    target_flops_ratio: float | None,
    achieved_flops_ratio: float | None,
    metric: tuple[str, float] | None,
    seed: int,
    gate: GateSpec | None,
) -> PreparedTrial:
    """Load and bind both models; the key and the `extra_info` known before timing."""
    spec = runtime or RuntimeSpec("torch", threads=1)
    model, achieved, target, prune_seed = _unwrap(pruned)
    achieved = achieved_flops_ratio if achieved_flops_ratio is not None else achieved
    target = target_flops_ratio if target_flops_ratio is not None else target
    if target is None:
        raise ValueError("kprune_trial: pass target_flops_ratio (or a kprune.PruneResult)")
    key = trial_key(
        method, target, spec.backend, spec.variant, spec.device, spec.dtype, batch_size, seq_len
    )
    pair = Pair(
        _bound(spec, dense, batch_size, seq_len, seed),
        _bound(spec, model, batch_size, seq_len, seed),
    )
    info = {
        "trial_key": key,
        "method": method,
        "target_flops_ratio": target,
        "achieved_flops_ratio": achieved,
        "device": spec.device,
        "seed": prune_seed if prune_seed is not None else seed,
        "metric_name": metric[0] if metric else None,
        "metric_value": metric[1] if metric else None,
        "fingerprint": collect_environment(),
    }
    return PreparedTrial(key, pair, settings_for(gate or GateSpec(), key, spec.device), info)
