"""Kprune's predictive knowledge losses (spec §3.2): distance of the student's outputs to the
teacher's, per task kind. Pure functions of tensors; they never run a model.

Follows the reference code: KL(teacher || student) with temperature T, scaled by T², batch mean;
regression compares like shapes (fixing the reference's [B,1]-vs-[B] broadcasting bug); QA
averages the start and end KLs over sequence positions. A causal LM has one next-token
distribution per real (non-pad) position: KL(teacher || student) over the vocabulary, mean over
the batch's real tokens (each token plays a classification sample), times T²; no labels needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F


def _soft(logits: torch.Tensor, temperature: float, dim: int) -> torch.Tensor:
    return F.softmax(logits / temperature, dim=dim).detach()


def _kl(logits: torch.Tensor, target: torch.Tensor, temperature: float, dim: int) -> torch.Tensor:
    log_p = F.log_softmax(logits / temperature, dim=dim)
    # batchmean over dim 0 regardless of which dim holds the distribution (QA: dim 1).
    return F.kl_div(log_p, target, reduction="sum") / logits.shape[0] * temperature**2


@dataclass(frozen=True)
class TaskLoss:
    target: Callable[[torch.Tensor, float], torch.Tensor]
    loss: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]
    # True: target and loss read the head's outputs at the real tokens only, [N_tok, vocab]
    # (caller selects them; causal LM); False: the head's outputs as they come.
    per_token: bool = False


def _qa_loss(logits: torch.Tensor, target: torch.Tensor, t: float) -> torch.Tensor:
    # logits, target: [B, T, 2] (start, end); distributions over positions (dim 1).
    return (
        _kl(logits[..., 0], target[..., 0], t, 1) + _kl(logits[..., 1], target[..., 1], t, 1)
    ) / 2


TASK_LOSSES: dict[str, TaskLoss] = {
    "classification": TaskLoss(
        target=lambda z, t: _soft(z, t, 1), loss=lambda z, y, t: _kl(z, y, t, 1)
    ),
    "regression": TaskLoss(
        target=lambda z, t: z.detach(), loss=lambda z, y, t: F.mse_loss(z, y.reshape(z.shape))
    ),
    "qa": TaskLoss(target=lambda z, t: _soft(z, t, 1), loss=_qa_loss),
    "causal_lm": TaskLoss(
        target=lambda z, t: _soft(z, t, 1), loss=lambda z, y, t: _kl(z, y, t, 1), per_token=True
    ),
}
