"""The sources of a merge: every run that measured rows, whether given as its own file (a shard's
run) or found inside an earlier merged run, with each row stamped with its source's
fingerprint key. What makes `merge` idempotent: a merged run splits back into the same sources.

Pure: records in, records out.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import UsageError
from harness.results.records import BenchmarkRun, Measurement, PrunePoint

log = logging.getLogger(__name__)

MERGED = "merged"
"""Environment key of a merged run: its sources and what the merge found."""
FINGERPRINTS = "fingerprints"


@dataclass(frozen=True)
class Source:
    """One measuring run: its id, creation time, plan config (its shard suffix removed), own
    fingerprint, nested fingerprints (Ray workers, keyed `<run_id>/<key>`), shard record, and
    its points and rows, each with `fingerprint` set to `<run_id>` or `<run_id>/<key>`."""

    run_id: str
    created_utc: str
    config: dict[str, Any]
    environment: dict[str, Any]
    fingerprints: dict[str, dict[str, Any]] = field(default_factory=dict)
    points: list[PrunePoint] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)

    @property
    def shard(self) -> Mapping[str, Any] | None:
        return self.environment.get("shard")

    @property
    def shard_index(self) -> int | None:
        return None if self.shard is None else int(self.shard["index"])

    @property
    def label(self) -> str:
        where = f"shard {self.shard['index']}/{self.shard['count']}" if self.shard else "run"
        return f"{where} ({self.run_id}, {self.created_utc})"

    def row_environment(self, row: Measurement | PrunePoint) -> Mapping[str, Any]:
        key = row.fingerprint or self.run_id
        return self.environment if key == self.run_id else self.fingerprints[key]


def plan_config(run: BenchmarkRun) -> dict[str, Any]:
    """The run's config under its plan's name (a shard's `-shardIofN` suffix removed)."""
    shard = run.environment.get("shard")
    name = shard["config_name"] if shard else run.config.get("name")
    return {**run.config, "name": name}


def _stamp(row: Any, run_id: str) -> Any:
    key = run_id if row.fingerprint is None else f"{run_id}/{row.fingerprint}"
    return dataclasses.replace(row, fingerprint=key)


def _own_source(run: BenchmarkRun) -> Source:
    env = {k: v for k, v in run.environment.items() if k != FINGERPRINTS}
    nested = run.environment.get(FINGERPRINTS) or {}
    return Source(
        run_id=run.run_id,
        created_utc=run.created_utc,
        config=plan_config(run),
        environment=env,
        fingerprints={f"{run.run_id}/{k}": v for k, v in nested.items()},
        points=[_stamp(p, run.run_id) for p in run.points],
        measurements=[_stamp(m, run.run_id) for m in run.measurements],
    )


def _belongs(row: Any, run_id: str) -> bool:
    key = row.fingerprint or ""
    return key == run_id or key.startswith(run_id + "/")


def _merged_sources(run: BenchmarkRun, where: str) -> list[Source]:
    info = run.environment[MERGED]["sources"]
    fingerprints = run.environment.get(FINGERPRINTS) or {}
    sources = []
    for run_id, facts in info.items():
        if run_id not in fingerprints:
            raise UsageError(
                f"{where}: merged run lacks the fingerprint of its source {run_id}; re-merge "
                "it from the shard files"
            )
        nested = {k: v for k, v in fingerprints.items() if k.startswith(run_id + "/")}
        sources.append(
            Source(
                run_id=run_id,
                created_utc=facts["created_utc"],
                config={**run.config, "name": facts["config_name"]},
                environment=fingerprints[run_id],
                fingerprints=nested,
                points=[p for p in run.points if _belongs(p, run_id)],
                measurements=[m for m in run.measurements if _belongs(m, run_id)],
            )
        )
    return sources


def sources_of(run: BenchmarkRun, where: str = "<run>") -> list[Source]:
    """The measuring runs inside `run`: itself, or a merged run's sources."""
    if MERGED in run.environment:
        return _merged_sources(run, where)
    return [_own_source(run)]


def source_facts(source: Source) -> dict[str, Any]:
    """What a merged run keeps about a source besides its fingerprint."""
    return {"created_utc": source.created_utc, "config_name": source.config["name"]}


def union_sources(sources: list[Source]) -> list[Source]:
    """One source per run id (a run given twice, or inside a merged run and on its own): the
    union of its rows, equal rows once. Sorted by run id, so input order never matters."""
    by_id: dict[str, Source] = {}
    for source in sources:
        seen = by_id.get(source.run_id)
        if seen is None:
            by_id[source.run_id] = source
            continue
        by_id[source.run_id] = dataclasses.replace(
            seen,
            fingerprints={**seen.fingerprints, **source.fingerprints},
            points=_union(seen.points, source.points),
            measurements=_union(seen.measurements, source.measurements),
        )
    return [by_id[run_id] for run_id in sorted(by_id)]


def _union(first: list[Any], second: list[Any]) -> list[Any]:
    return first + [row for row in second if row not in first]
