"""`merge`: the union of shard runs (or any runs of one plan) into one run; order-independent
and idempotent. Every row keeps its source's fingerprint (`Measurement.fingerprint`).

Rules: one row per trial key, except the dense point's rows, kept once per device (each shard
re-times the dense model on its own device, and a repeat on the same device adds nothing its
pruned rows need: their denominators travel in their own `dense_samples_ms`). A measured row
beats an errored one. Two different measured rows of one pruned key conflict: refused unless a
`Preference` says which wins. A speedup whose denominator came from another device is refused.
Pure: runs in, a run out; `write_merged` is the only file write.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.results.devices import CrossDeviceSpeedupError, device_identity
from harness.results.keys import (
    DENSE_METHOD,
    dense_key_of,
    measurement_key,
    record_point_key,
)
from harness.results.merge_plan import (
    Preference,
    choose,
    distinct,
    missing_keys,
    plan_order,
    shard_of,
)
from harness.results.merge_sources import (
    FINGERPRINTS,
    MERGED,
    Source,
    source_facts,
    sources_of,
    union_sources,
)
from harness.results.records import BenchmarkRun, Measurement, PrunePoint, write_run

log = logging.getLogger(__name__)


class MergeError(UsageError):
    """The runs cannot be merged (different plans, different shard counts, conflicts)."""


@dataclass(frozen=True)
class MergeResult:
    """The merged run and what the merge found."""

    run: BenchmarkRun
    missing: list[str]
    """Planned trial keys with no row, and dense keys missing on a device that timed pruned rows."""
    errored: list[str]
    """Trial keys whose only rows are errors."""
    dropped_dense_repeats: int
    resolved: list[str]
    """Conflicting keys settled by the preference."""

    @property
    def complete(self) -> bool:
        return not (self.missing or self.errored)


Keyed = tuple[Source, Any]


def merge_runs(runs: Sequence[BenchmarkRun], prefer: Preference | None = None) -> MergeResult:
    """One run from `runs` (shard runs, earlier merged runs, or plain runs of the same plan)."""
    if not runs:
        raise MergeError("nothing to merge: name at least one results file or folder")
    sources = union_sources([s for run in runs for s in sources_of(run, run.run_id)])
    config = _common_config(sources)
    order = plan_order(sources)
    rows, repeats, resolved = _rows(sources, prefer)
    _check_speedups(rows, sources)
    points, resolved_points = _points(sources, prefer)
    measurements = [m for _, m in sorted(rows, key=lambda k: _row_order(k, order))]
    errored = sorted({measurement_key(m) for m in measurements if m.error})
    planned = missing_keys(sources, [m for m in measurements if m.error is None])
    missing = [key for key in planned if key not in errored] + _dense_gaps(rows)
    environment = _environment(sources, prefer, missing, errored)
    run = BenchmarkRun(
        run_id="m" + hashlib.sha256(" ".join(s.run_id for s in sources).encode()).hexdigest()[:11],
        created_utc=max(s.created_utc for s in sources),
        config=config,
        environment=environment,
        points=[p for _, p in sorted(points, key=lambda k: _point_order(k, order))],
        measurements=measurements,
    )
    return MergeResult(run, missing, errored, repeats, sorted(resolved + resolved_points))


def _common_config(sources: list[Source]) -> dict[str, Any]:
    first = sources[0]
    for other in sources[1:]:
        keys = sorted(
            k
            for k in set(first.config) | set(other.config)
            if first.config.get(k) != other.config.get(k)
        )
        if keys:
            raise MergeError(
                f"{first.label} and {other.label} sweep different plans (config differs in "
                f"{', '.join(keys)}); merge runs of one config only"
            )
    counts = sorted({int(s.shard["count"]) for s in sources if s.shard})
    if len(counts) > 1:
        raise MergeError(
            f"shards of {counts} split the plan differently; merge the shards of one count "
            "(rerun the missing ones with the same --shard i/N)"
        )
    return dict(first.config)


def _device(source: Source, row: Measurement) -> str:
    return device_identity(source.row_environment(row), row.device)


def _rows(sources: list[Source], prefer: Preference | None) -> tuple[list[Keyed], int, list[str]]:
    """The kept rows with their sources, the dense repeats dropped, the keys settled."""
    buckets: dict[tuple[str, str], list[Keyed]] = {}
    for source in sources:
        for row in source.measurements:
            dense = row.method == DENSE_METHOD
            bucket = (measurement_key(row), _device(source, row) if dense else "")
            buckets.setdefault(bucket, []).append((source, row))
    kept, repeats, resolved, conflicts = [], 0, [], []
    for (key, device), candidates in sorted(buckets.items()):
        chosen, settled = choose(candidates, prefer, repeats_allowed=bool(device))
        if chosen is None:
            conflicts.append((key, candidates))
            continue
        kept.append(chosen)
        measured = distinct([c for c in candidates if c[1].error is None])
        repeats += max(0, len(measured) - 1) if device else 0
        resolved += [key] if settled else []
    if conflicts:
        raise _conflict_error(conflicts)
    return kept, repeats, resolved


def _conflict_error(conflicts: list[tuple[str, list[Keyed]]]) -> MergeError:
    lines = [
        f"  {key}: " + "; ".join(sorted({source.label for source, _ in candidates}))
        for key, candidates in conflicts[:10]
    ]
    more = f"\n  ... and {len(conflicts) - 10} more" if len(conflicts) > 10 else ""
    return MergeError(
        f"{len(conflicts)} trial keys were measured differently by two runs:\n"
        + "\n".join(lines)
        + more
        + "\nsay which wins with --prefer newest, --prefer oldest, --prefer shard:N or "
        "--prefer run:RUN_ID, or leave one of the files out"
    )


def _points(sources: list[Source], prefer: Preference | None) -> tuple[list[Keyed], list[str]]:
    """One record per pruned point; the dense point's records once per distinct content."""
    buckets: dict[tuple[str, str], list[Keyed]] = {}
    for source in sources:
        for point in source.points:
            key = record_point_key(point)
            content = repr(_content(point)) if point.method == DENSE_METHOD else ""
            buckets.setdefault((key, content), []).append((source, point))
    kept, resolved, conflicts = [], [], []
    for (key, content), candidates in sorted(buckets.items()):
        alike = len({repr(_content(p)) for _, p in candidates if p.error is None}) <= 1
        chosen, settled = choose(candidates, prefer, repeats_allowed=bool(content) or alike)
        if chosen is None:
            conflicts.append((key, candidates))
            continue
        kept.append(chosen)
        resolved += [key] if settled else []
    if conflicts:
        raise _conflict_error(conflicts)
    return kept, resolved


def _content(point: PrunePoint) -> tuple[Any, ...]:
    """What a point's record says about its model (not where or how fast it was built)."""
    skip = {"fingerprint", "prune_seconds"}
    return tuple((k, v) for k, v in sorted(vars(point).items()) if k not in skip)


def _check_speedups(rows: list[Keyed], sources: list[Source]) -> None:
    """Refuse a kept speedup whose denominator came from another device: without interleaving,
    a pruned row's denominator is its source's stored dense row of the same key."""
    for source, row in rows:
        if row.method == DENSE_METHOD or row.error or row.speedup_vs_dense is None:
            continue
        if source.config.get("interleave_dense", True):
            continue  # the dense twin was timed in the same process, interleaved
        wanted = measurement_key(row).split("|", 1)[1]
        for dense in source.measurements:
            if dense.method != DENSE_METHOD or measurement_key(dense).split("|", 1)[1] != wanted:
                continue
            if _device(source, dense) != _device(source, row):
                raise CrossDeviceSpeedupError(
                    f"{source.label}: {measurement_key(row)} (on {_device(source, row)}) has a "
                    f"speedup over a dense row timed on {_device(source, dense)}; refused: rerun "
                    "that shard with interleave_dense=true"
                )


def _dense_gaps(rows: list[Keyed]) -> list[str]:
    """`<dense key> on <device>` for each device that timed pruned rows but kept no dense row
    of their key (a speedup over another device's dense row would be refused)."""
    dense = {(measurement_key(m), _device(s, m)) for s, m in rows if m.method == DENSE_METHOD}
    gaps = set()
    for source, row in rows:
        if row.method == DENSE_METHOD or row.error:
            continue
        wanted = (dense_key_of(measurement_key(row)), _device(source, row))
        if wanted not in dense:
            gaps.add(f"{wanted[0]} on {wanted[1]}")
    return sorted(gaps)


def _row_order(keyed: Keyed, order: Callable[[str], tuple[int, str]]) -> tuple[Any, ...]:
    source, row = keyed
    return (order(measurement_key(row)), _device(source, row), source.run_id)


def _point_order(keyed: Keyed, order: Callable[[str], tuple[int, str]]) -> tuple[Any, ...]:
    source, point = keyed
    return (order(record_point_key(point) + "|"), source.run_id)


def _environment(
    sources: list[Source], prefer: Preference | None, missing: list[str], errored: list[str]
) -> dict[str, Any]:
    """Fields every source agrees on, each source's fingerprint, and what the merge found."""
    envs = [s.environment for s in sources]
    common = {k: v for k, v in envs[0].items() if all(k in e and e[k] == v for e in envs[1:])}
    common.pop("shard", None)
    if "machine_id" not in common:
        ids = " ".join(sorted({str(e.get("machine_id")) for e in envs}))
        common["machine_id"] = "merged-" + hashlib.sha256(ids.encode()).hexdigest()[:12]
    if "commit" not in common:
        log.warning("the runs were measured at different commits; the merged run names none")
        common["commit"] = None
    fingerprints = {s.run_id: s.environment for s in sources}
    for source in sources:
        fingerprints.update(source.fingerprints)
    merged = {
        "sources": {s.run_id: source_facts(s) for s in sources},
        "prefer": None if prefer is None else prefer.text,
        "missing": missing,
        "errored": errored,
    }
    return {**common, FINGERPRINTS: fingerprints, MERGED: merged}


def describe_merge(result: MergeResult) -> str:
    """What `kprune-bench merge` prints: sizes, settled conflicts, missing and errored keys
    (with the shard to rerun where the shards recorded their plan)."""
    run = result.run
    sources = sources_of(run)
    lines = [
        f"merged {len(run.environment[MERGED]['sources'])} runs: {len(run.points)} points, "
        f"{len(run.measurements)} rows ({result.dropped_dense_repeats} dense repeats on the "
        "same device left out; each shard file keeps its own)"
    ]
    if result.resolved:
        prefer = run.environment[MERGED]["prefer"]
        lines.append(f"{len(result.resolved)} conflicts settled by --prefer {prefer}")
    for title, keys in (("missing", result.missing), ("errored", result.errored)):
        lines += [f"{title}: {len(keys)}"] if keys else []
        for key in keys:
            shard = shard_of(sources, key)
            rerun = f"  (rerun shard {shard} with --resume)" if shard is not None else ""
            lines.append(f"  {key}{rerun}")
    return "\n".join(lines)


def write_merged(result: MergeResult, out_dir: Path | str) -> Path:
    """Write the merged run as a new numbered results file under `out_dir/<machine>/`."""
    return write_run(result.run, out_dir)
