"""KCM's last step (paper Fig. 1, "Scale"): the kept neurons' mask values become real scales fitted
by Kwon et al.'s layer-wise least squares (kprune.methods.kwon.tuning, reused as is), teacher =
the unpruned model. Only FFN sublayers are fitted; every head keeps mask 1, so the MHA sublayers
are only run forward for teacher and student. Decides no masks; changes no weights.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from kprune.arch import EncoderAccess
from kprune.calibration import PreparedBatch
from kprune.forward import sublayer_forward
from kprune.methods.kwon.tuning import LayerwiseTuner, ScaleOutcome
from kprune.sublayer import Sublayer, sublayer_count


class FfnRescaler(LayerwiseTuner):
    """Kwon et al.'s tuner with a way to step over a sublayer without fitting it."""

    @torch.no_grad()
    def pass_through(self, index: int) -> None:
        """Advance teacher and student through sublayer ``index`` with all its units at 1."""
        for position, layout in enumerate(self.layouts):
            teacher = sublayer_forward(self.access, index, self.teacher_x[position], layout)
            student = sublayer_forward(self.access, index, self.student_x[position], layout)
            self.teacher_x[position] = teacher.output
            self.student_x[position] = student.output


def rescale_sublayers(
    access: EncoderAccess,
    batches: Sequence[PreparedBatch],
    neuron_keep: torch.Tensor,
    damping: float,
    cls_only_last_ffn: bool,
) -> Iterator[tuple[int, torch.Tensor | None, ScaleOutcome | None]]:
    """Bottom to top over every sublayer: yields (index, scaled unit gate [neurons], outcome) for
    an FFN and (index, None, None) for an MHA, which is passed through unfitted.

    neuron_keep: [layers, neurons] bool. A gate holds 0 for pruned neurons and the fitted scale
    (1 where the solve failed or was rejected; the outcome says why) for kept ones.
    """
    tuner = FfnRescaler(access, list(batches), damping, cls_only_last_ffn)
    for index in range(sublayer_count(len(access.layers))):
        sub = Sublayer(index)
        if sub.is_mha:
            tuner.pass_through(index)
            yield index, None, None
            continue
        gate, outcome = tuner.tune(index, neuron_keep[sub.layer].float())
        yield index, gate, outcome
