"""Kprune's calibration pass for target sublayer k (spec §3, §16.1): advance the teacher by one
sublayer, run the gated student from k to the head forward and backward, and accumulate knowledge
(plus, with tuning on, the LS statistics of sublayer k). It reads both models; it never cuts one.

Fast path: sublayers below k are final, so the student's input to sublayer k is cached over the
calibration set. The teacher advances one sublayer per step from its own cache (no 2L stored
teacher outputs). With `pack_tokens` the cached activations hold real tokens only (kprune.tokens):
each batch keeps its sequences, so the batch-level Fisher of the predictive term is unchanged.

Sublayer k's features from the pass are kept per batch (N_tok x width floats, freed with the
step): once the search has chosen k's units, the least-squares statistics are summed over the kept
columns only, and the cached inputs move past the cut sublayer from those columns (its output
projection, residual and norm) instead of running it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from kprune.arch import EncoderAccess
from kprune.calibration import PreparedBatch
from kprune.forward import (
    finish_sublayer,
    forward_from,
    gate_gradients,
    gradient_gates,
    output_bias,
    sublayer_forward,
)
from kprune.gram import GramAccumulator
from kprune.methods.kprune.config import KpruneConfig
from kprune.methods.kprune.knowledge import KnowledgeAccumulator
from kprune.methods.kprune.losses import TaskLoss, task_loss
from kprune.phase_timer import PhaseTimer
from kprune.tokens import TokenLayout, can_pack


@dataclass
class Step:
    """Statistics gathered in one pass over the calibration set for target sublayer k."""

    knowledge: KnowledgeAccumulator
    timer: PhaseTimer
    # per batch: sublayer k's features as the batch's layout arranges them (detached), and with
    # tuning on the least-squares target of its real tokens (teacher pre-norm - input - bias)
    features: list[torch.Tensor] = field(default_factory=list)
    targets: list[torch.Tensor] = field(default_factory=list)


def _device_sync(device: str):  # type: ignore[no-untyped-def]
    return torch.cuda.synchronize if device.startswith("cuda") else None


class KnowledgePass:
    """Teacher and student sublayer inputs over the calibration set, and the per-step pass."""

    def __init__(
        self,
        teacher: EncoderAccess,
        student: EncoderAccess,
        batches: list[PreparedBatch],
        config: KpruneConfig,
    ) -> None:
        self.teacher, self.student, self.batches, self.config = teacher, student, batches, config
        kind = config.task if config.task != "auto" else student.task_kind()
        self.loss: TaskLoss = task_loss(kind, config.predictive_target)
        self.sync = _device_sync(config.device)
        with torch.no_grad():
            embedded = [student.embed(b.inputs) for b in batches]
        first_only = student.head_reads_first_position
        self.layouts = [
            TokenLayout(
                b.inputs["attention_mask"],
                e.dtype,
                packed=config.pack_tokens and can_pack(b.inputs["attention_mask"], first_only),
            )
            for b, e in zip(batches, embedded)
        ]
        arranged = [layout.arrange(e) for layout, e in zip(self.layouts, embedded)]
        self.student_x = arranged if config.cache_inputs else []
        self.teacher_x = list(arranged)
        self.soft_targets: list[torch.Tensor | None] = [None] * len(batches)

    def _student_input(self, position: int, index: int) -> torch.Tensor:
        if self.config.cache_inputs:
            return self.student_x[position]
        # Reference behaviour: a full pass from the embeddings every step.
        layout = self.layouts[position]
        with torch.no_grad():
            x = layout.arrange(self.student.embed(self.batches[position].inputs))
            for j in range(index):
                x = sublayer_forward(self.student, j, x, layout).output
        return x

    def measure(self, index: int) -> Step:
        """One pass over the calibration set for target sublayer ``index``."""
        step = Step(KnowledgeAccumulator(self.student, index), PhaseTimer(self.sync))
        phase, temperature = step.timer.phase, self.config.temperature
        for position, batch in enumerate(self.batches):
            layout = self.layouts[position]
            with phase("student_input"):
                x_s = self._student_input(position, index)
            with phase("teacher"), torch.no_grad():
                teacher_out = sublayer_forward(
                    self.teacher, index, self.teacher_x[position], layout
                )
            gates = gradient_gates(self.student, index, self.config.device)
            with torch.enable_grad():
                with phase("forward"):
                    out, feats = forward_from(
                        self.student, index, x_s, layout, gates, keep_features=True
                    )
                    if self.loss.per_token:  # causal LM: next-token logits of real tokens
                        out = layout.rows(out)
                    soft = self.soft_targets[position]
                    if soft is None:  # k = 0: the student is the teacher (drawn once if sampled)
                        soft = self.soft_targets[position] = self.loss.target(out, temperature)
                    loss = self.loss.loss(out, soft, temperature)
                with phase("backward"):
                    grads = gate_gradients(loss, gates)
            with phase("knowledge"):
                rows = {j: layout.rows(f.detach()) for j, f in feats.items()}
                step.knowledge.add(grads, rows, batch.size)
            if self.config.cache_inputs or self.config.tune_weights:  # their only readers
                step.features.append(feats[index].detach())
            if self.config.tune_weights:
                with phase("gram"), torch.no_grad():
                    target = teacher_out.pre_norm - x_s - output_bias(self.student, index)
                    step.targets.append(layout.rows(target))
            self.teacher_x[position] = teacher_out.output
        return step

    def tuning_statistics(self, step: Step, kept_dims: torch.Tensor) -> GramAccumulator:
        """Least-squares statistics of sublayer k restricted to its kept feature dims."""
        stats = GramAccumulator()
        for layout, feats, target in zip(self.layouts, step.features, step.targets):
            stats.add(layout.rows(feats).index_select(-1, kept_dims), target)
        return stats

    def advance_student(self, index: int, step: Step, kept_dims: torch.Tensor) -> None:
        """Move the cached student inputs past sublayer ``index`` (just cut, keeping
        ``kept_dims`` of its features) from the features the step kept."""
        if not self.config.cache_inputs:
            return
        with torch.no_grad():
            for position, (x, feats) in enumerate(zip(self.student_x, step.features)):
                kept = feats.index_select(-1, kept_dims)
                self.student_x[position] = finish_sublayer(self.student, index, x, kept).output
        step.features.clear()
