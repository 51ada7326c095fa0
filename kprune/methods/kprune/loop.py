"""The Kprune sublayer loop (spec §2, §15): for k = 0..2L-1, measure knowledge of k..2L-1, search a
global mask under the remaining budget, refit and cut sublayer k, spend its FLOPs (scaffolding:
methods.budget). It never touches the caller's model or the caller's RNG state.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from kprune.arch import EncoderAccess
from kprune.forward import output_projection
from kprune.masks import Masks
from kprune.methods.budget import (
    BudgetedCopy,
    SublayerCallback,
    emit,
    frozen_copy,
    prepare_copy,
    report,
    untuned_indices,
)
from kprune.methods.kprune.config import KpruneConfig
from kprune.methods.kprune.measure import KnowledgePass, Step
from kprune.methods.kprune.tuning import TuningOutcome, reconstruct_output_weight
from kprune.result import PruneResult, SublayerLog, sublayer_log
from kprune.search import round_down_keep, search_sublayer_mask
from kprune.sublayer import Sublayer, kept_features, sublayer_count
from kprune.surgery import prune_attention, prune_ffn, replace_empty_sublayers


class _KpruneRun:
    """The student (the budgeted working copy) being cut one sublayer at a time."""

    def __init__(self, run: BudgetedCopy, teacher: EncoderAccess, config: KpruneConfig) -> None:
        self.run, self.config, self.student = run, config, run.access
        self.passes = KnowledgePass(teacher, run.access, run.batches, config)
        self.remaining = run.budget
        self.masks = run.full_masks()

    def _decide(self, index: int, step: Step) -> torch.Tensor:
        cfg, run = self.config, self.run
        head_weight = (
            float(self.student.head_size) if cfg.head_weight == "d_h" else float(cfg.head_weight)
        )
        scores = step.knowledge.scores(
            cfg.pred_weight, cfg.rep_weight, head_weight, run.head_cost, run.neuron_cost
        )
        costs = {j: run.unit_cost(j) for j in scores}
        # For an FFN target, the same layer's heads are already final: range(k, 2L) excludes them.
        keep = search_sublayer_mask(scores, costs, index, self.remaining)
        # rounded before tuning, so the refit sees the units that stay; what is dropped here
        # returns to the remaining budget of the sublayers after this one
        return round_down_keep(keep, scores[index].cpu(), run.unit_multiple(index))

    def _tune(self, index: int, kept: torch.Tensor, step: Step) -> TuningOutcome | None:
        if not self.config.tune_weights:
            return None
        weight = output_projection(self.student, index).weight
        with step.timer.phase("gram"):
            stats = self.passes.tuning_statistics(step, kept.to(weight.device))
        with step.timer.phase("solve"):
            return reconstruct_output_weight(stats, kept, weight, self.config.ridge_ratio)

    def _cut(
        self,
        index: int,
        keep: torch.Tensor,
        kept: torch.Tensor,
        outcome: TuningOutcome | None,
        step: Step,
    ) -> None:
        sub = Sublayer(index)
        weight = outcome.weight if outcome is not None else None
        if sub.is_ffn:
            prune_ffn(self.student, sub.layer, keep, weight)
            self.masks.neuron_keep[sub.layer, : keep.numel()] = keep
        else:
            prune_attention(self.student, sub.layer, keep, weight)
            self.masks.head_keep[sub.layer, : keep.numel()] = keep
        self.remaining -= int(keep.sum()) * self.run.unit_cost(index)
        self.passes.advance_student(index, step, kept.to(self.config.device))

    def step(self, index: int) -> SublayerLog:
        started = time.perf_counter()
        step = self.passes.measure(index)
        with step.timer.phase("search"):
            keep = self._decide(index, step)
        kept = kept_features(keep, index, self.student.unit_width)  # feature dims of kept units
        outcome = self._tune(index, kept, step)  # times its "gram" and "solve" phases
        with step.timer.phase("cut"):
            self._cut(index, keep, kept, outcome, step)
        knowledge = step.knowledge
        return sublayer_log(
            index,
            keep,
            outcome.note if outcome else "tuning off",
            residual_before=outcome.residual_before if outcome else None,
            residual_after=outcome.residual_after if outcome else None,
            tuned=bool(outcome and outcome.weight is not None),
            ridge=outcome.ridge if outcome else 0.0,
            seconds=time.perf_counter() - started,
            predictive_total=float(knowledge.predictive[index].sum()) / knowledge.sequences,
            representational_total=float(knowledge.representational[index].sum())
            / knowledge.tokens,
            phase_seconds=step.timer.seconds,
        )


@contextmanager
def _seeded_global_rng(seed: int, device: str) -> Iterator[None]:
    """Seed torch's global CPU RNG (and the run's CUDA device) for the run only; the caller's
    states are restored on exit. Only those generators are touched, so no other GPU is woken."""
    cuda = []
    if device.startswith("cuda"):
        index = torch.device(device).index
        cuda.append(index if index is not None else torch.cuda.current_device())
    with torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(seed)
        for index in cuda:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


def run_kprune(
    model: nn.Module,
    batches: Sequence[dict[str, torch.Tensor]],
    config: KpruneConfig,
    on_sublayer: SublayerCallback | None = None,
) -> PruneResult:
    """Prune ``model`` with Kprune; returns a dense pruned copy (the input is never mutated)."""
    started = time.perf_counter()
    run = prepare_copy(model, batches, config)
    masks = run.full_masks()
    logs: list[SublayerLog] = []
    # At ratio 1.0 the strict "< budget" rule would still drop the lowest-scored unit: skip.
    if not run.keeps_everything:
        with _seeded_global_rng(config.seed, config.device):
            masks, logs = _prune_sublayers(model, run, config, on_sublayer)
    replace_empty_sublayers(run.access)
    untuned = untuned_indices(logs, config.tune_weights)
    return report(run, masks, config, started, logs, untuned, "kprune")


def _prune_sublayers(
    model: nn.Module,
    run: BudgetedCopy,
    config: KpruneConfig,
    on_sublayer: SublayerCallback | None,
) -> tuple[Masks, list[SublayerLog]]:
    """Cut the working copy sublayer by sublayer against an unpruned teacher copy."""
    state = _KpruneRun(run, EncoderAccess(frozen_copy(model, config.device)), config)
    logs = []
    for index in range(sublayer_count(len(run.access.layers))):
        entry = state.step(index)
        logs.append(entry)
        emit([entry], on_sublayer)
    return state.masks, logs
