"""Kprune's predictive knowledge losses (spec §3.2): distance of the student's outputs to the
teacher's, per task kind. Pure functions of tensors; they never run a model.

Follows the reference code: KL(teacher || student) with temperature T, scaled by T², batch mean;
regression compares like shapes (fixing the reference's [B,1]-vs-[B] broadcasting bug); QA
averages the start and end KLs over sequence positions. A causal LM has one next-token
distribution per real (non-pad) position: KL(teacher || student) over the vocabulary, mean over
the batch's real tokens (each token plays a classification sample), times T²; no labels needed.

The KL's gradient is zero where the student is the teacher (k = 0, spec §11.1 pitfall 1), so the
first sublayer is chosen by representational knowledge alone. On pre-norm decoders that is
harmful: the residual stream's scale grows with depth, so the lowest sublayers' outputs carry
the least energy and lose first (SmolLM2: layer 0's attention, then most of layers 1-3's FFN,
perplexity 23.7 -> 683,041 at 10% of parameters pruned). The "sampled" target draws one label per
sample from the teacher's softmax(z/T) once, at k = 0, and scores the student's cross-entropy on
it, times T². Its gradient is an unbiased estimate of the KL's gradient, and its square carries
the KL's curvature at the teacher (the Fisher information), which is not zero at k = 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from kprune.errors import ConfigError


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


def _draw(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """One label per row of [N, C] logits from softmax(z/T); the loop seeds torch's RNG."""
    return torch.multinomial(_soft(logits, temperature, 1), 1).squeeze(1)


def _sampled_ce(logits: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    return F.cross_entropy(logits / temperature, labels) * temperature**2


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

# predictive_target="sampled": the kinds whose outputs are one distribution per row of [N, C].
SAMPLED_LOSSES: dict[str, TaskLoss] = {
    "classification": TaskLoss(target=_draw, loss=_sampled_ce),
    "causal_lm": TaskLoss(target=_draw, loss=_sampled_ce, per_token=True),
}


def task_loss(kind: str, predictive_target: str) -> TaskLoss:
    """The predictive loss of ``kind``; ``predictive_target`` is "soft" or "sampled"."""
    if predictive_target == "soft":
        return TASK_LOSSES[kind]
    if kind not in SAMPLED_LOSSES:
        raise ConfigError(
            f'predictive_target="sampled" needs one distribution per sample; the {kind} task has '
            f"none (supported: {', '.join(sorted(SAMPLED_LOSSES))}); use "
            'predictive_target="soft"'
        )
    return SAMPLED_LOSSES[kind]
