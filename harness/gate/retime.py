"""Re-time a stored run's pruned trials in paired rounds against its own dense model (same
runtime, batch and sequence length), in this process, and write what was measured back as a run
(`gate_run.json`, a valid baseline for a later gate).

Loaded runtimes are kept for the confirmation re-measure. A trial whose models cannot be loaded
or timed becomes an error record (exit 3), never a skipped one.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harness.config.gate_spec import GateSpec
from harness.export.io_names import dummy_batch
from harness.gate import plant
from harness.gate.artifacts import (
    artifact_path,
    input_layout,
    load_artifact,
    point_folder,
    runtime_of,
)
from harness.gate.evidence import TrialEvidence
from harness.gate.paired import paired_estimate
from harness.gate.rounds import Pair, Rounds, measure_fixed, measure_until_precise
from harness.gate.settings import settings_for
from harness.measure.clock import Clock, Timed
from harness.measure.stats import summarize
from harness.results.environment import load_snapshot
from harness.results.keys import DENSE_METHOD, measurement_key
from harness.results.records import BenchmarkRun, Measurement
from harness.runtimes.base import Runtime, load_runtime

log = logging.getLogger(__name__)


class Retimer:
    """The pruned trials of one stored run, timed against their dense twins on demand."""

    remeasurable = True

    def __init__(
        self,
        run: BenchmarkRun,
        folder: Path,
        spec: GateSpec,
        *,
        planted_ratio: float = 0.0,
        clock: Clock | None = None,
    ) -> None:
        self.run, self.folder, self.spec = run, folder, spec
        self.planted_ratio = planted_ratio
        self.clock = clock
        self.rows: dict[str, Measurement] = {
            measurement_key(m): m for m in run.measurements if m.method != DENSE_METHOD
        }
        self.rounds: dict[str, Rounds] = {}
        self.states: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._pairs: dict[str, Pair] = {}
        self._runtimes: dict[tuple[Path, Any], tuple[Runtime, tuple[str, ...], int]] = {}

    @property
    def keys(self) -> list[str]:
        return list(self.rows)

    def _runtime(self, point_dir: Path, m: Measurement) -> tuple[Runtime, tuple[str, ...], int]:
        spec = runtime_of(m)
        cache_key = (point_dir, spec)
        if cache_key not in self._runtimes:
            artifact = load_artifact(artifact_path(point_dir, spec), spec)
            names, vocab = input_layout(point_dir, artifact if spec.artifact == "module" else None)
            self._runtimes[cache_key] = (load_runtime(spec, artifact), names, vocab)
        return self._runtimes[cache_key]

    def _timed(self, point_dir: Path, m: Measurement) -> Timed:
        runtime, names, vocab = self._runtime(point_dir, m)
        seed = int(self.run.config.get("seed", 0))
        batch = dummy_batch(m.batch_size, m.seq_len, vocab_size=vocab, input_names=names, seed=seed)
        return Timed(runtime.bind(batch), runtime.sync)

    def _pair(self, key: str) -> Pair:
        if key not in self._pairs:
            m = self.rows[key]
            dense = self._timed(point_folder(self.folder, DENSE_METHOD, 1.0), m)
            pruned = self._timed(point_folder(self.folder, m.method, m.target_flops_ratio), m)
            self._pairs[key] = Pair(dense, plant.slowed(pruned, self.planted_ratio))
        return self._pairs[key]

    def _clocked(self) -> dict[str, Clock]:
        return {} if self.clock is None else {"clock": self.clock}

    def first(self, key: str) -> TrialEvidence:
        """The trial measured until its CI is tight enough (an error record if it cannot be)."""
        m = self.rows[key]
        if m.error:
            return TrialEvidence(key, m.device, None, error=f"the stored trial failed: {m.error}")
        settings = settings_for(self.spec, key, m.device)
        return self._measured(
            key, m, lambda pair: measure_until_precise(pair, settings, **self._clocked())
        )

    def confirm(self, evidence: TrialEvidence) -> TrialEvidence:
        """A fresh re-measure with twice the first measure's rounds."""
        assert evidence.first is not None, "only a measured trial is confirmed"
        m = self.rows[evidence.key]
        settings = settings_for(self.spec, evidence.key, m.device)
        count = 2 * evidence.first.rounds
        again = self._measured(
            evidence.key, m, lambda pair: measure_fixed(pair, count, settings, **self._clocked())
        )
        if again.error:
            return dataclasses.replace(evidence, error=again.error)
        return dataclasses.replace(
            evidence,
            confirm=again.first,
            pruned_p50_ms=again.pruned_p50_ms,
            dense_p50_ms=again.dense_p50_ms,
        )

    def _measured(
        self, key: str, m: Measurement, measure: Callable[[Pair], tuple[Rounds, Any]]
    ) -> TrialEvidence:
        try:
            pair = self._pair(key)
            before = load_snapshot()
            rounds, estimate = measure(pair)
            self.states[key] = (before, load_snapshot())
        except Exception as error:  # recorded as this trial's error (exit 3); the rest go on
            log.exception("re-timing %s failed", key)
            return TrialEvidence(key, m.device, None, error=f"{type(error).__name__}: {error}")
        self.rounds[key] = rounds
        dense, pruned = summarize(rounds.flat_ms("dense")), summarize(rounds.flat_ms("pruned"))
        return TrialEvidence(
            key, m.device, estimate, dense_p50_ms=dense.median_ms, pruned_p50_ms=pruned.median_ms
        )

    def measured_run(
        self, environment: Mapping[str, Any], gate_info: Mapping[str, Any]
    ) -> BenchmarkRun:
        """The run with every re-timed trial's samples and paired speedup (95% CI, as the
        results schema names it), measured under `environment`."""
        rows = [self._row(m) for m in self.run.measurements]
        env = {**environment, "gate": {**gate_info, "candidate_run_id": self.run.run_id}}
        new_id = uuid.uuid4().hex[:12]  # another document than the run it re-timed
        return dataclasses.replace(self.run, run_id=new_id, measurements=rows, environment=env)

    def _row(self, m: Measurement) -> Measurement:
        rounds = self.rounds.get(measurement_key(m))
        if rounds is None:
            return m
        ci95 = paired_estimate(rounds.log_ratios, 0.95, self.spec.n_boot)
        pruned = rounds.flat_ms("pruned")
        return dataclasses.replace(
            m,
            latency=summarize(pruned),
            samples_ms=pruned,
            dense_samples_ms=rounds.flat_ms("dense"),
            speedup_vs_dense=ci95.speedup,
            speedup_ci95_low=ci95.low,
            speedup_ci95_high=ci95.high,
            timing_pid=os.getpid(),
            state_before=self.states[measurement_key(m)][0],
            state_after=self.states[measurement_key(m)][1],
        )
