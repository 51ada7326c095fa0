"""The Kprune sublayer loop (spec §2, §15): for k = 0..2L-1, bottom to top, measure knowledge of
sublayers k..2L-1, search a global mask under the remaining FLOPs budget, refit the output
projection of sublayer k, prune it, and spend its FLOPs from the budget.

Fast path (spec §16.1): sublayers below k are final, so the student's input to sublayer k is
cached over the calibration set and each step runs forward/backward from k upward only. The
teacher is advanced one sublayer per step from its own cache (no 2L stored teacher outputs).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from kprune.arch import EncoderAccess
from kprune.calibration import PreparedBatch, mean_sequence_length, prepare_batches
from kprune.config import KpruneConfig
from kprune.flops import FlopsReport, encoder_flops, head_flops, neuron_flops
from kprune.forward import additive_mask, sublayer_forward
from kprune.knowledge import KnowledgeAccumulator
from kprune.losses import TASK_LOSSES, TaskLoss
from kprune.masks import Masks
from kprune.preflight import check_device, check_eval_mode
from kprune.result import PruneResult, SublayerLog
from kprune.search import search_sublayer_mask
from kprune.surgery import prune_attention, prune_ffn, replace_empty_sublayers
from kprune.tuning import GramAccumulator, TuningOutcome, reconstruct_output_weight

SublayerCallback = Callable[[SublayerLog], None]


@dataclass
class _Step:
    """Statistics gathered in one pass over the calibration set for target sublayer k."""

    knowledge: KnowledgeAccumulator
    gram: GramAccumulator = field(default_factory=GramAccumulator)


class _KpruneRun:
    def __init__(
        self, model: nn.Module, batches: Sequence[dict[str, torch.Tensor]], config: KpruneConfig
    ):
        check_eval_mode(model)
        check_device(config.device)
        self.config = config
        self.teacher = EncoderAccess(_frozen_copy(model, config.device))
        self.student = EncoderAccess(_frozen_copy(model, config.device))
        self.batches: list[PreparedBatch] = prepare_batches(batches, config.device)
        kind = config.task if config.task != "auto" else self.student.task_kind()
        self.loss: TaskLoss = TASK_LOSSES[kind]
        self.num_sublayers = 2 * len(self.student.layers)
        self.seq_len = config.seq_len or mean_sequence_length(self.batches)
        d, d_h = self.student.hidden_size, self.student.head_size
        self.unit_flops = (head_flops(self.seq_len, d, d_h), neuron_flops(self.seq_len, d))
        heads = [self.student.num_heads(i) for i in range(len(self.student.layers))]
        neurons = [self.student.num_neurons(i) for i in range(len(self.student.layers))]
        self.original_flops = encoder_flops(heads, neurons, self.seq_len, d, d_h)
        self.budget = config.target_flops_ratio * self.original_flops
        self.head_keep = torch.ones(len(heads), max(heads), dtype=torch.bool)
        self.neuron_keep = torch.ones(len(neurons), max(neurons), dtype=torch.bool)
        with torch.no_grad():
            embedded = [self.student.embed(b.inputs) for b in self.batches]
        self.masks_add = [
            additive_mask(b.inputs["attention_mask"], e.dtype)
            for b, e in zip(self.batches, embedded)
        ]
        self.student_x = embedded if config.cache_inputs else []
        self.teacher_x = list(embedded)
        self.soft_targets: list[torch.Tensor | None] = [None] * len(self.batches)

    # --- one calibration pass ------------------------------------------------------------------
    def _student_input(self, position: int, index: int) -> torch.Tensor:
        if self.config.cache_inputs:
            return self.student_x[position]
        # Reference behaviour: a full pass from the embeddings every step.
        with torch.no_grad():
            x = self.student.embed(self.batches[position].inputs)
            for j in range(index):
                x = sublayer_forward(self.student, j, x, self.masks_add[position]).output
        return x

    def _gates(self, index: int) -> dict[int, torch.Tensor]:
        gates = {}
        for j in range(index, self.num_sublayers):
            layer, is_ffn = divmod(j, 2)
            width = (
                self.student.num_neurons(layer)
                if is_ffn
                else self.student.num_heads(layer) * self.student.head_size
            )
            gates[j] = torch.ones(width, device=self.config.device, requires_grad=True)
        return gates

    def _measure(self, index: int) -> _Step:
        step = _Step(KnowledgeAccumulator(self.student, index))
        for position, batch in enumerate(self.batches):
            x_s = self._student_input(position, index)
            with torch.no_grad():
                teacher_out = sublayer_forward(
                    self.teacher, index, self.teacher_x[position], self.masks_add[position]
                )
            gates = self._gates(index)
            with torch.enable_grad():
                out, feats = _forward_with_gates(
                    self.student, index, x_s, self.masks_add[position], gates
                )
                if self.soft_targets[position] is None:  # k = 0: the student is the teacher
                    self.soft_targets[position] = self.loss.target(out, self.config.temperature)
                loss = self.loss.loss(out, self.soft_targets[position], self.config.temperature)
                grads = torch.autograd.grad(loss, list(gates.values()), allow_unused=True)
            named = {
                j: g if g is not None else torch.zeros_like(gates[j]) for j, g in zip(gates, grads)
            }
            step.knowledge.add(named, feats, batch.token_mask, batch.size)
            if self.config.tune_weights:
                bias = self._out_bias(index)
                target = teacher_out.pre_norm - x_s - bias
                step.gram.add(feats[index].detach()[batch.token_mask], target[batch.token_mask])
            self.teacher_x[position] = teacher_out.output
        return step

    def _out_bias(self, index: int) -> torch.Tensor:
        layer, is_ffn = divmod(index, 2)
        return self.student.ffn_bias(layer) if is_ffn else self.student.attn_bias(layer)

    # --- decide, tune, cut -----------------------------------------------------------------------
    def _decide(self, index: int, step: _Step) -> torch.Tensor:
        cfg = self.config
        head_weight = (
            cfg.head_weight if cfg.head_weight is not None else float(self.student.head_size)
        )
        scores = step.knowledge.scores(
            cfg.pred_weight, cfg.rep_weight, head_weight, *self.unit_flops
        )
        costs = {j: self.unit_flops[j % 2] for j in scores}
        # For an FFN target, the same layer's heads are already final: range(k, 2L) excludes them.
        return search_sublayer_mask(scores, costs, index, self.budget)

    def _tune(self, index: int, keep: torch.Tensor, step: _Step) -> TuningOutcome | None:
        if not self.config.tune_weights:
            return None
        layer, is_ffn = divmod(index, 2)
        weight = self.student.module(layer, "ffn_out" if is_ffn else "attn_out").weight
        kept = torch.nonzero(keep).flatten()
        if not is_ffn:
            d_h = self.student.head_size
            kept = (kept[:, None] * d_h + torch.arange(d_h)[None, :]).flatten()
        return reconstruct_output_weight(step.gram, kept, weight, self.config.ridge_ratio)

    def _cut(self, index: int, keep: torch.Tensor, outcome: TuningOutcome | None) -> None:
        layer, is_ffn = divmod(index, 2)
        weight = outcome.weight if outcome is not None else None
        if is_ffn:
            prune_ffn(self.student, layer, keep, weight)
            self.neuron_keep[layer, : keep.numel()] = keep
        else:
            prune_attention(self.student, layer, keep, weight)
            self.head_keep[layer, : keep.numel()] = keep
        self.budget -= int(keep.sum()) * self.unit_flops[is_ffn]
        if self.config.cache_inputs:
            with torch.no_grad():
                for position, x in enumerate(self.student_x):
                    self.student_x[position] = sublayer_forward(
                        self.student, index, x, self.masks_add[position]
                    ).output

    def step(self, index: int) -> SublayerLog:
        started = time.perf_counter()
        step = self._measure(index)
        keep = self._decide(index, step)
        outcome = self._tune(index, keep, step)
        self._cut(index, keep, outcome)
        layer, is_ffn = divmod(index, 2)
        return SublayerLog(
            index=index,
            layer=layer,
            kind="ffn" if is_ffn else "mha",
            units_total=int(keep.numel()),
            units_kept=int(keep.sum()),
            residual_before=outcome.residual_before if outcome else None,
            residual_after=outcome.residual_after if outcome else None,
            tuned=bool(outcome and outcome.weight is not None),
            note=outcome.note if outcome else "tuning off",
            ridge=outcome.ridge if outcome else 0.0,
            seconds=time.perf_counter() - started,
            predictive_total=float(step.knowledge.predictive[index].sum())
            / step.knowledge.sequences,
            representational_total=float(step.knowledge.representational[index].sum())
            / step.knowledge.tokens,
        )

    def finish(self, logs: list[SublayerLog], started: float) -> PruneResult:
        replace_empty_sublayers(self.student)
        masks = Masks(self.head_keep, self.neuron_keep)
        d, d_h = self.student.hidden_size, self.student.head_size
        achieved = encoder_flops(
            masks.heads_per_layer(), masks.neurons_per_layer(), self.seq_len, d, d_h
        )
        flops = FlopsReport(
            self.original_flops,
            self.config.target_flops_ratio * self.original_flops,
            achieved,
            self.seq_len,
        )
        untuned = tuple(
            log.index
            for log in logs
            if self.config.tune_weights and not log.tuned and log.units_kept
        )
        model = self.student.model.cpu() if self.config.device != "cpu" else self.student.model
        return PruneResult(
            model,
            masks,
            flops,
            self.config,
            time.perf_counter() - started,
            tuple(logs),
            untuned,
            "kprune",
        )


def _frozen_copy(model: nn.Module, device: str) -> nn.Module:
    clone = copy.deepcopy(model).to(device).eval()
    for param in clone.parameters():
        param.requires_grad_(False)
    return clone


def _forward_with_gates(
    access: EncoderAccess,
    start: int,
    x: torch.Tensor,
    add_mask: torch.Tensor,
    gates: dict[int, torch.Tensor],
) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    features = {}
    for index in range(start, 2 * len(access.layers)):
        out = sublayer_forward(access, index, x, add_mask, gates[index])
        features[index] = out.features
        x = out.output
    return access.head(x), features


def run_kprune(
    model: nn.Module,
    batches: Sequence[dict[str, torch.Tensor]],
    config: KpruneConfig,
    on_sublayer: SublayerCallback | None = None,
) -> PruneResult:
    """Prune ``model`` with Kprune; returns a dense pruned copy (the input is never mutated)."""
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    run = _KpruneRun(model, batches, config)
    if config.target_flops_ratio == 1.0:
        # The strict "< budget" rule would drop the lowest-scored unit even at ratio 1.0.
        return run.finish([], started)
    logs = []
    for index in range(run.num_sublayers):
        log_entry = run.step(index)
        logs.append(log_entry)
        if on_sublayer is not None:
            on_sublayer(log_entry)
    return run.finish(logs, started)
