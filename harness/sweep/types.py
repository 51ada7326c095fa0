"""The objects passed between the stages of a sweep: points, trials, the inputs loaded once, the
model of a point with its one pruning record, what gets timed, and raw trial timings.

A leaf: plain frozen dataclasses and key properties, no stage logic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from harness.config.schema import BenchmarkConfig
from harness.data.tasks.base import TaskData
from harness.measure.clock import TimingResult
from harness.results.keys import DENSE_METHOD, point_key, trial_key
from harness.results.records import Measurement, PrunePoint
from harness.runtimes.base import ArtifactKind, RuntimeSpec

ArtifactKey = tuple[ArtifactKind, str]
"""(artifact kind, dtype): which file or module of a point a runtime loads."""


@dataclass(frozen=True)
class Point:
    """One model of the sweep: `method` at `target_flops_ratio` (kept/original FLOPs)."""

    method: str
    target_flops_ratio: float
    seed: int = 0
    """The sweep seed this point is built with (`BenchmarkConfig.seeds`)."""

    @property
    def key(self) -> str:
        return point_key(self.method, self.target_flops_ratio, self.seed)

    @property
    def dense(self) -> Point:
        """The dense point of the same seed (this point's speedup denominator)."""
        return Point(DENSE_METHOD, 1.0, self.seed)

    @property
    def is_dense(self) -> bool:
        return self.method == DENSE_METHOD


@dataclass(frozen=True)
class Trial:
    """One timing: a point's model on one runtime at one (batch size, sequence length)."""

    point: Point
    runtime: RuntimeSpec
    batch_size: int
    seq_len: int

    def _key(self, point: Point) -> str:
        r = self.runtime
        shape = (self.batch_size, self.seq_len)
        return trial_key(
            point.method,
            point.target_flops_ratio,
            r.backend,
            r.variant,
            r.device,
            r.dtype,
            *shape,
            seed=point.seed,
        )

    @property
    def key(self) -> str:
        return self._key(self.point)

    @property
    def dense_key(self) -> str:
        """Key of the dense trial this one is compared with (same runtime, batch, seq, seed)."""
        return self._key(self.point.dense)

    @property
    def artifact(self) -> ArtifactKey:
        return (self.runtime.artifact, self.runtime.dtype)


@dataclass(frozen=True)
class SweepInputs:
    """Everything loaded once per sweep: model, tokenizer, task, calibration batches."""

    config: BenchmarkConfig
    model: nn.Module
    tokenizer: Any
    task: TaskData
    eval_task: TaskData
    batches: list[Any]
    seed: int
    """The sweep seed these inputs were loaded for (calibration draw, fine-tuned model)."""
    input_names: tuple[str, ...]
    vocab_size: int
    description: str


@dataclass(frozen=True)
class LmInputs:
    """What a decoder sweep loads once per seed: the causal LM, its tokenizer, the evaluation
    text as one token stream, and the calibration windows (`sweep.lm_stages`)."""

    config: BenchmarkConfig
    model: nn.Module
    tokenizer: Any
    eval_stream: np.ndarray
    batches: list[Any]
    seed: int
    vocab_size: int
    description: str

    input_names: tuple[str, ...] = ("input_ids",)
    """The prefill graph's one input (no padding, so no attention mask)."""


Inputs = SweepInputs | LmInputs
"""What a sweep loads once per seed: an encoder task's or a decoder's (`sweep.steps`)."""


@dataclass(frozen=True)
class PointModel:
    """The model of one point (the base model for dense) and its pruning record: the one shape
    a pruning outcome has from `kprune.prune` to the results file (metric added later)."""

    point: Point
    model: nn.Module
    record: PrunePoint


@dataclass(frozen=True)
class Subject:
    """What to time: a point's model, its artifacts by (kind, dtype), its artifacts folder."""

    built: PointModel
    artifacts: dict[ArtifactKey, Any]
    folder: Path

    def artifact(self, trial: Trial) -> Any:
        """The module or exported graph `trial`'s runtime loads."""
        if trial.artifact[0] == "module":
            return self.built.model
        return self.artifacts[trial.artifact]


@dataclass(frozen=True)
class TrialTiming:
    """A trial's raw timing (`error` when it failed); `dense` is the dense model's timing on the
    same runtime and shape, interleaved with this one (pruned trials, `interleave_dense`).
    `state_before`/`state_after` are the machine's state around the trial's timing group."""

    result: TimingResult | None
    error: str | None = None
    dense: TimingResult | None = None
    state_before: dict[str, Any] | None = None
    state_after: dict[str, Any] | None = None
    pad_last_rows: int | None = None
    """Rows of the timed batch whose second half is padding (the same for every backend)."""


Outcome = tuple[PrunePoint, list[Measurement]] | BaseException
"""A finished point's record and rows, or the error that stopped it (policy: `sweep.run`)."""
