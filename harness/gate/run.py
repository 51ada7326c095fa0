"""`kprune-bench gate` end to end: get the baseline (a stored run or pytest-benchmark file, or a
git ref swept here), get the candidate (a stored run, a pytest-benchmark file, or a fresh sweep
of the config), re-time the candidate's trials in paired rounds, decide, write the outputs.

The only module of `gate/` that sweeps, re-times and writes files; the rest are its parts.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config.load import config_to_dict
from harness.config.schema import BenchmarkConfig
from harness.gate import ab, plant
from harness.gate.artifacts import artifacts_folder
from harness.gate.checks import StoredTrials, TrialSource, decide
from harness.gate.evidence import Side, read_side, side_from_run
from harness.gate.outcome import Check, GateOutcome
from harness.gate.retime import Retimer
from harness.results.environment import collect_environment
from harness.results.records import BenchmarkRun, read_run, save_run

log = logging.getLogger(__name__)

GATE_RUN_FILE = "gate_run.json"
"""The candidate as the gate measured it: a stored run, and the next baseline when it passes."""


@dataclass(frozen=True)
class GateRequest:
    """What `kprune-bench gate` was asked (see `harness.gate.command` for each flag)."""

    config: BenchmarkConfig
    config_source: str
    overrides: tuple[str, ...] = ()
    candidate: Path | None = None
    artifacts: Path | None = None
    baseline: Path | None = None
    ab_ref: str | None = None
    out: Path = Path("gate_report")
    require_baseline: bool = False
    ratchet: bool = False
    progress: bool = False


def _is_run_file(path: Path) -> bool:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True  # read_side names the problem
    return not (isinstance(doc, dict) and "benchmarks" in doc and "measurements" not in doc)


def _fresh_sweep(request: GateRequest) -> Path:
    from harness.sweep.run import run_benchmark

    results = request.out / "candidate" / "bench_results"
    artifacts = request.out / "candidate" / "bench_artifacts"
    run = run_benchmark(
        request.config,
        results,
        keep_going=True,
        progress=request.progress,
        artifacts_dir=artifacts,
    )
    (path,) = [p for p in results.rglob("*.json") if read_run(p).run_id == run.run_id]
    return path


def _swept_run(run_path: Path, run: BenchmarkRun) -> tuple[Path, BenchmarkRun]:
    """The sweep run whose artifacts hold the models: `run` itself, or for a gate_run.json the
    run it re-timed (named in its environment), when that file is still there."""
    source = Path(str((run.environment.get("gate") or {}).get("source") or ""))
    if source.name and source != run_path and source.is_file():
        return source, read_run(source)
    return run_path, run


def _retimer(run_path: Path, request: GateRequest, planted: float) -> Retimer:
    run = read_run(run_path)
    root = request.artifacts
    if root is None and request.candidate is None:
        root = request.out / "candidate" / "bench_artifacts"
    folder = artifacts_folder(*_swept_run(run_path, run), root)
    return Retimer(run, folder, request.config.gate, planted_ratio=planted)


def _ab_baseline(request: GateRequest, environment: dict[str, Any]) -> Side:
    """The baseline ref swept in a work folder and re-timed here, in this job."""
    assert request.ab_ref is not None
    work = Path(tempfile.mkdtemp(prefix="kprune-gate-ab-", dir=request.out))
    run_path = ab.sweep_ref(request.ab_ref, request.config_source, request.overrides, work)
    retimer = Retimer(
        read_run(run_path),
        artifacts_folder(run_path, read_run(run_path), work / "bench_artifacts"),
        request.config.gate,
    )
    side = side_from_run(retimer.run, f"ref:{request.ab_ref}")
    trials = {key: retimer.first(key) for key in retimer.keys}
    return dataclasses.replace(side, environment=environment, trials=trials)


def _baseline(request: GateRequest, environment: dict[str, Any]) -> tuple[Side | None, list[str]]:
    if request.ab_ref is not None:
        try:
            return _ab_baseline(request, environment), []
        except ab.RefSweepError as error:
            log.error("%s", error)
            return None, [f"baseline ref {request.ab_ref} could not be swept: {error}"]
    if request.baseline is None:
        return None, []
    return read_side(request.baseline), []


def _candidate(
    request: GateRequest, environment: dict[str, Any], planted: float
) -> tuple[Side, TrialSource, Retimer | None]:
    if request.candidate is not None and not _is_run_file(request.candidate):
        side = read_side(request.candidate)
        return side, StoredTrials(side), None
    run_path = request.candidate or _fresh_sweep(request)
    retimer = _retimer(run_path, request, planted)
    side = side_from_run(retimer.run, str(run_path), remeasurable=True)
    return dataclasses.replace(side, environment=environment), retimer, retimer


def _describe(side: Side | None) -> dict[str, Any] | None:
    if side is None:
        return None
    env = side.environment
    keys = ("commit", "dirty", "machine_id", "cpu_model", "logical_cores", "versions", "gpus")
    return {"source": side.source, **{k: env.get(k) for k in keys}}


def run_gate(request: GateRequest) -> GateOutcome:
    """Measure and decide; every output file is written by the caller (`gate.outputs`)."""
    request.out.mkdir(parents=True, exist_ok=True)
    environment = collect_environment()
    planted = plant.planted_ratio()
    notes = (
        [f"PLANTED slowdown {planted:.0%} on the candidate's pruned models (test only)"]
        if planted
        else []
    )
    baseline, baseline_notes = _baseline(request, environment)
    notes += baseline_notes
    candidate, source, retimer = _candidate(request, environment, planted)
    if not source.remeasurable:
        notes.append(
            "the candidate is a pytest-benchmark file: it cannot be re-measured, so a "
            "trial under its floor is a WARN, never a FAIL"
        )
    checks: list[Check] = decide(
        source, candidate, baseline, request.config.gate, require_baseline=request.require_baseline
    )
    settings = dataclasses.asdict(request.config.gate)
    if retimer is not None:
        info = {"settings": settings, "planted_slowdown_ratio": planted, "source": candidate.source}
        save_run(retimer.measured_run(environment, info), request.out / GATE_RUN_FILE)
    return GateOutcome(
        checks=checks,
        candidate=_describe(candidate) or {},
        baseline=_describe(baseline),
        settings={**settings, "config": config_to_dict(request.config)["name"]},
        ratchet=request.ratchet,
        notes=notes,
    )
