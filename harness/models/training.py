"""The fine-tuning loop for sentence(-pair) classification and regression heads.

Seeded, fixed data order, dynamic padding, AdamW + linear warmup/decay; no caching, no files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from tqdm import tqdm
from transformers import get_linear_schedule_with_warmup

from harness.data.encoding import collate, label_tensor, pad_token_id, to_tensors, tokenize_texts
from harness.data.tasks.base import TaskKind, TextExample

log = logging.getLogger(__name__)

StepHook = Callable[[int, float], None]
"""Called after every optimizer step with (step number from 1, loss)."""


@dataclass(frozen=True)
class TrainStats:
    """What one training run did: optimizer steps, wall seconds, mean loss of the last epoch."""

    steps: int
    train_s: float
    last_epoch_loss: float


def _optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW; biases and LayerNorm weights (the 1-D parameters) get no weight decay."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr)


def train_text_model(
    model: torch.nn.Module,
    tokenizer: Any,
    examples: Sequence[TextExample],
    *,
    kind: TaskKind,
    epochs: int,
    lr: float,
    batch_size: int,
    max_length: int,
    warmup_ratio: float,
    weight_decay: float,
    seed: int,
    progress: bool = True,
    step_hook: StepHook | None = None,
) -> TrainStats:
    """Train `model` in place; epoch order is a permutation from a generator seeded by `seed`."""
    torch.manual_seed(seed)  # dropout masks
    order_rng = torch.Generator().manual_seed(seed)
    rows = tokenize_texts(tokenizer, examples, max_length)
    steps_per_epoch = -(-len(rows) // batch_size)
    total_steps = epochs * steps_per_epoch
    optimizer = _optimizer(model, lr, weight_decay)
    schedule = get_linear_schedule_with_warmup(  # type: ignore[no-untyped-call]
        optimizer, int(warmup_ratio * total_steps), total_steps
    )
    pad_id = pad_token_id(tokenizer)
    model.train()
    started = time.perf_counter()
    bar = tqdm(total=total_steps, desc="fine-tune", unit="step", disable=not progress)
    step, epoch_losses = 0, [0.0]
    for _ in range(epochs):
        epoch_losses = []
        order = torch.randperm(len(rows), generator=order_rng).tolist()
        for start in range(0, len(order), batch_size):
            picked = order[start : start + batch_size]
            batch = to_tensors(collate([rows[i] for i in picked], pad_id))
            batch["labels"] = label_tensor([examples[i].label for i in picked], kind)
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            epoch_losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(loss=f"{epoch_losses[-1]:.3f}", refresh=False)
            if step_hook is not None:
                step_hook(step, epoch_losses[-1])
    bar.close()
    model.eval()
    stats = TrainStats(step, time.perf_counter() - started, sum(epoch_losses) / len(epoch_losses))
    log.info("trained %d steps in %.1f s, last-epoch loss %.4f", *vars(stats).values())
    return stats
