"""Result records: `Measurement` rows, `PrunePoint`s and the `BenchmarkRun` document (schema
versioned, older versions upgraded on read), written atomically as JSON + CSV in bench_results/.

Never measures; never overwrites another run's file.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.measure.clock import TIMER
from harness.measure.stats import LatencyStats
from harness.results.atomic_files import create_numbered, replace_text, replace_texts
from harness.results.environment import machine_id
from harness.results.upgrade import SCHEMA_VERSION, SchemaVersionError, upgrade_document

log = logging.getLogger(__name__)


class ResultsFileError(UsageError):
    """A results file cannot be read (corrupt, unknown schema, missing fields); names the file."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(
            f"{path}: {problem}. Move the file out of the results folder or re-run the sweep "
            "that wrote it; other results still load."
        )


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """One (method, target ratio, backend, device, dtype, batch, seq) row; see docs/design.md."""

    method: str
    target_flops_ratio: float
    achieved_flops_ratio: float
    params: int
    backend: str
    variant: str
    device: str
    dtype: str
    batch_size: int
    seq_len: int
    seed: int = 0
    """The sweep seed of this row's point (`BenchmarkConfig.seeds`)."""
    threads: int | None = None
    timer: str = TIMER
    latency: LatencyStats | None = None
    samples_ms: list[float] = field(default_factory=list)
    first_call_ms: float | None = None
    speedup_vs_dense: float | None = None
    speedup_ci95_low: float | None = None
    speedup_ci95_high: float | None = None
    ideal_speedup: float | None = None
    metric_name: str | None = None
    metric_value: float | None = None
    prune_seconds: float | None = None
    export_seconds: float | None = None
    dense_samples_ms: list[float] = field(default_factory=list)
    """The dense model's samples timed interleaved with this trial (its speedup's denominator)."""
    timing_pid: int | None = None
    """Process that ran the timed calls (differs from the sweep's in an isolated child)."""
    state_before: dict[str, Any] | None = None
    """Machine state (load, GPU clocks/temperature/throttle) right before the timing group."""
    state_after: dict[str, Any] | None = None
    fused_ops: dict[str, int] | None = None
    """ORT-fused operator counts of the graph this row timed (the `fused` variant), by op type."""
    fingerprint: str | None = None
    """Key of the environment that timed this row in `environment["fingerprints"]` (a merged run:
    its source run's id; a Ray worker's own); None: the run's own `environment`."""
    metric_source: str | None = None
    """What scored `metric_value`: the runtime (backend-device-dtype-variant) that ran the task
    metric for this row's device and dtype, or the stored run a replayed structure came from."""
    pad_last_rows: int | None = None
    """Rows of each timed batch whose second half is padding (attention_mask 0)."""
    padded_token_fraction: float | None = None
    """Padding positions / all positions of the timed batch (None: not recorded)."""
    budget: str = "flops"
    """What `target_flops_ratio` keeps: "flops", or "params" (kept/original parameters)."""
    achieved_params_ratio: float | None = None
    """Kept/original parameters of the point's model (None: runs older than schema v5)."""
    decode_tokens: int | None = None
    """Decoder decode rows (variant ending in "-decode"): greedy tokens per timed call, each
    step on the KV cache of a `seq_len`-token prompt; None for prefill and encoder rows."""
    tokens_per_s: float | None = None
    """Decoder rows: batch x tokens per call / median seconds (prefill: prompt tokens)."""
    error: str | None = None

    def csv_row(self) -> dict[str, Any]:
        """Flat scalar row: latency fields become ``latency_<name>``; raw samples are left out."""
        row = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in _NOT_IN_CSV:
            del row[name]
        stats = dataclasses.asdict(self.latency) if self.latency else {}
        for name in (f.name for f in dataclasses.fields(LatencyStats)):
            row[f"latency_{name}"] = stats.get(name)
        return row


@dataclass(frozen=True, kw_only=True)
class PrunePoint:
    """One pruned model, per (method, target ratio): what it kept and what it scored."""

    method: str
    target_flops_ratio: float
    achieved_flops_ratio: float
    params: int
    heads_per_layer: list[int]
    neurons_per_layer: list[int]
    seed: int = 0
    """The sweep seed this point was built with (calibration draw, fine-tune, method seed)."""
    metric_name: str | None = None
    metric_value: float | None = None
    prune_seconds: float | None = None
    sublayers: list[dict[str, Any]] = field(default_factory=list)
    untuned_sublayers: list[int] = field(default_factory=list)
    method_config: dict[str, Any] = field(default_factory=dict)
    """The method's resolved config for this point (empty for the dense point)."""
    fingerprint: str | None = None
    """As `Measurement.fingerprint`: the environment this point was built in (None: the run's)."""
    metric_source: str | None = None
    """What scored `metric_value` (the reference runtime, or the run a replay came from)."""
    metrics_by_runtime: dict[str, float] = field(default_factory=dict)
    """The task metric as each timed device/dtype/graph computes it, by scoring runtime name."""
    budget: str = "flops"
    """What `target_flops_ratio` keeps: "flops", or "params" (kept/original parameters)."""
    achieved_params_ratio: float | None = None
    """Kept/original parameters (shared tensors once); None in runs older than schema v5."""
    error: str | None = None
    """Why the point has no model; starts with UNREACHABLE when the method cannot meet the
    ratio (KCM below its heads-only floor): a property of the method, not a failure."""


UNREACHABLE = "unreachable budget"
"""Prefix of a record's `error` when the method cannot reach the point's FLOPs ratio."""


def is_unreachable(error: str | None) -> bool:
    return error is not None and error.startswith(UNREACHABLE)


_NOT_IN_CSV = (
    "latency",
    "samples_ms",
    "dense_samples_ms",
    "state_before",
    "state_after",
    "fused_ops",
)
"""Fields a CSV row leaves out: raw samples and nested state (the JSON has them)."""

# CSV columns in order: the contract's columns first, then the other scalar fields.
_LEADING = (
    "method",
    "target_flops_ratio",
    "achieved_flops_ratio",
    "params",
    "backend",
    "device",
    "dtype",
    "batch_size",
    "seq_len",
    "latency_median_ms",
    "latency_p90_ms",
    "latency_ci95_low_ms",
    "latency_ci95_high_ms",
    "speedup_vs_dense",
    "metric_name",
    "metric_value",
)
_ALL = [f.name for f in dataclasses.fields(Measurement) if f.name not in _NOT_IN_CSV]
_ALL += [f"latency_{f.name}" for f in dataclasses.fields(LatencyStats)]
CSV_COLUMNS: tuple[str, ...] = (*_LEADING, *(c for c in _ALL if c not in _LEADING))


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, kw_only=True)
class BenchmarkRun:
    """A sweep's results with its resolved config and environment fingerprint."""

    schema_version: int = SCHEMA_VERSION
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created_utc: str = field(default_factory=_utc_now)
    config: dict[str, Any]
    environment: dict[str, Any]
    points: list[PrunePoint] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)


def run_to_dict(run: BenchmarkRun) -> dict[str, Any]:
    """JSON-ready document of ``run``."""
    return dataclasses.asdict(run)


def _build(cls: type[Any], data: Mapping[str, Any], where: str | Path) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        log.warning("%s: ignoring unknown fields %s", where, unknown)
    return cls(**{k: v for k, v in data.items() if k in names})


def _measurement_from(data: Mapping[str, Any], where: str | Path) -> Measurement:
    latency = data.get("latency")
    stats = _build(LatencyStats, latency, where) if latency is not None else None
    return _build(Measurement, {**data, "latency": stats}, where)  # type: ignore[no-any-return]


def run_from_dict(
    doc: Mapping[str, Any], where: str | Path = "<document>", stem: str = ""
) -> BenchmarkRun:
    """A `BenchmarkRun` from a (possibly older) JSON document; `ResultsFileError` if malformed."""
    if not isinstance(doc, Mapping):
        raise ResultsFileError(where, f"top level is {type(doc).__name__}, not a JSON object")
    try:
        data = upgrade_document(dict(doc), stem)
    except SchemaVersionError as problem:
        raise ResultsFileError(where, str(problem)) from problem
    try:
        points = [_build(PrunePoint, p, where) for p in data.get("points", [])]
        rows = [_measurement_from(m, where) for m in data.get("measurements", [])]
        body = {k: v for k, v in data.items() if k not in ("points", "measurements")}
        run: BenchmarkRun = _build(
            BenchmarkRun, {**body, "points": points, "measurements": rows}, where
        )
    except (TypeError, ValueError, AttributeError, KeyError) as problem:
        raise ResultsFileError(where, f"malformed record ({problem})") from problem
    return run


# --- files: bench_results/<machine-id>/<NNNN>_<commit7>[-dirty]_<config-name>.json + .csv ---


def run_file_stem(run: BenchmarkRun, number: int) -> str:
    """``NNNN_<commit7>[-dirty]_<config-name>`` for ``run``."""
    env = run.environment
    # the harness code's own commit; an installed copy (no checkout) is named by its version
    commit = str(env["commit"])[:7] if env.get("commit") else None
    version = env.get("code_version")
    tag = re.sub(r"[^A-Za-z0-9.]+", "-", f"v{version}") if version else "nocommit"
    commit = commit or tag
    commit += "-dirty" if env.get("dirty") else ""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", str(run.config.get("name") or "run")).strip("-")
    return f"{number:04d}_{commit}_{name or 'run'}"


def _json_text(run: BenchmarkRun) -> str:
    return json.dumps(run_to_dict(run), indent=1) + "\n"


def _csv_text(run: BenchmarkRun) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["run_id", *CSV_COLUMNS])
    writer.writeheader()
    writer.writerows({"run_id": run.run_id, **m.csv_row()} for m in run.measurements)
    return buffer.getvalue()


def save_run(run: BenchmarkRun, path: Path) -> Path:
    """Atomically (re)write ``path`` (JSON) and the CSV beside it; for incremental sweeps.

    Both texts are written before either file is replaced, the CSV first: the CSV never lags
    the JSON that `--resume` reads (a full disk replaces neither)."""
    replace_texts([(path.with_suffix(".csv"), _csv_text(run)), (path, _json_text(run))])
    return path


def write_run(run: BenchmarkRun, out_dir: Path | str) -> Path:
    """Write ``run`` under ``out_dir/<machine-id>/`` with the next free number; returns the path."""
    folder = Path(out_dir) / str(run.environment.get("machine_id") or machine_id(run.environment))
    path = create_numbered(folder, lambda n: f"{run_file_stem(run, n)}.json", _json_text(run))
    replace_text(path.with_suffix(".csv"), _csv_text(run))
    log.info("wrote %s", path)
    return path


def read_run(path: Path | str) -> BenchmarkRun:
    """Load (and upgrade) one results file; `ResultsFileError` names the file and the problem."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as problem:
        raise ResultsFileError(path, f"cannot be read ({problem})") from problem
    except (json.JSONDecodeError, UnicodeDecodeError) as problem:
        raise ResultsFileError(path, f"is not valid JSON ({problem})") from problem
    return run_from_dict(doc, path, path.stem)
