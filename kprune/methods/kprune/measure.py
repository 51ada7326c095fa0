"""Kprune's calibration pass for target sublayer k (spec §3, §16.1): advance the teacher by one
sublayer, run the gated student from k to the head forward and backward, and accumulate knowledge
(plus, with tuning on, the LS statistics of sublayer k). It reads both models; it never cuts one.

Fast path: sublayers below k are final, so the student's input to sublayer k is cached over the
calibration set. The teacher advances one sublayer per step from its own cache (no 2L stored
teacher outputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from kprune.arch import EncoderAccess
from kprune.calibration import PreparedBatch
from kprune.forward import (
    additive_mask,
    forward_from,
    gate_gradients,
    gradient_gates,
    output_bias,
    sublayer_forward,
)
from kprune.gram import GramAccumulator
from kprune.methods.kprune.config import KpruneConfig
from kprune.methods.kprune.knowledge import KnowledgeAccumulator
from kprune.methods.kprune.losses import TASK_LOSSES, TaskLoss


@dataclass
class Step:
    """Statistics gathered in one pass over the calibration set for target sublayer k."""

    knowledge: KnowledgeAccumulator
    gram: GramAccumulator = field(default_factory=GramAccumulator)


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
        self.loss: TaskLoss = TASK_LOSSES[kind]
        with torch.no_grad():
            embedded = [student.embed(b.inputs) for b in batches]
        self.masks_add = [
            additive_mask(b.inputs["attention_mask"], e.dtype) for b, e in zip(batches, embedded)
        ]
        self.student_x = embedded if config.cache_inputs else []
        self.teacher_x = list(embedded)
        self.soft_targets: list[torch.Tensor | None] = [None] * len(batches)

    def _student_input(self, position: int, index: int) -> torch.Tensor:
        if self.config.cache_inputs:
            return self.student_x[position]
        # Reference behaviour: a full pass from the embeddings every step.
        with torch.no_grad():
            x = self.student.embed(self.batches[position].inputs)
            for j in range(index):
                x = sublayer_forward(self.student, j, x, self.masks_add[position]).output
        return x

    def measure(self, index: int) -> Step:
        """One pass over the calibration set for target sublayer ``index``."""
        step = Step(KnowledgeAccumulator(self.student, index))
        temperature = self.config.temperature
        for position, batch in enumerate(self.batches):
            x_s, mask = self._student_input(position, index), self.masks_add[position]
            with torch.no_grad():
                teacher_out = sublayer_forward(self.teacher, index, self.teacher_x[position], mask)
            gates = gradient_gates(self.student, index, self.config.device)
            with torch.enable_grad():
                out, feats = forward_from(self.student, index, x_s, mask, gates, keep_features=True)
                soft = self.soft_targets[position]
                if soft is None:  # k = 0: the student is the teacher
                    soft = self.soft_targets[position] = self.loss.target(out, temperature)
                loss = self.loss.loss(out, soft, temperature)
                grads = gate_gradients(loss, gates)
            step.knowledge.add(grads, feats, batch.token_mask, batch.size)
            if self.config.tune_weights:
                target = teacher_out.pre_norm - x_s - output_bias(self.student, index)
                step.gram.add(feats[index].detach()[batch.token_mask], target[batch.token_mask])
            self.teacher_x[position] = teacher_out.output
        return step

    def advance_student(self, index: int) -> None:
        """Move the cached student inputs past sublayer ``index`` (just cut)."""
        if not self.config.cache_inputs:
            return
        with torch.no_grad():
            for position, x in enumerate(self.student_x):
                self.student_x[position] = sublayer_forward(
                    self.student, index, x, self.masks_add[position]
                ).output
