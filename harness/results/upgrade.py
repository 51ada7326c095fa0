"""Results schema versions and the upgrade chain of older `BenchmarkRun` JSON documents.

Pure dict -> dict functions, one per version step; they never read files or build dataclasses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from harness.errors import UsageError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 5
"""Version written by this code. Bump it with every layout change and add an entry to UPGRADES."""


class SchemaVersionError(UsageError, ValueError):
    """The document's schema_version is missing, newer than this code, or has no upgrade path."""


def _upgrade_v0(doc: dict[str, Any], stem: str) -> dict[str, Any]:
    """v0 -> v1: measurements had ``samples`` (ms) and no ``variant``/``timer``; no run_id,
    created_utc or points at the top level."""
    rows = []
    for row in doc.get("measurements", []):
        new = {k: v for k, v in row.items() if k != "samples"}
        new["samples_ms"] = row.get("samples", [])
        new.setdefault("variant", "eager" if row.get("backend") == "torch" else "default")
        new.setdefault("timer", "unknown (schema v0)")
        rows.append(new)
    return {
        **doc,
        "schema_version": 1,
        "run_id": doc.get("run_id", stem),
        "created_utc": doc.get("created_utc", "unknown"),
        "points": doc.get("points", []),
        "measurements": rows,
    }


def _upgrade_v1(doc: dict[str, Any], stem: str) -> dict[str, Any]:
    """v1 -> v2: measurements gained the interleaved dense samples, the timing pid and the
    machine state around the timing group; points gained the method's resolved config. v1 files
    had none of them: they are empty, and say so."""
    empty_row = {
        "dense_samples_ms": [],
        "timing_pid": None,
        "state_before": None,
        "state_after": None,
    }
    rows = [{**empty_row, **row} for row in doc.get("measurements", [])]
    points = [{"method_config": {}, **point} for point in doc.get("points", [])]
    return {**doc, "schema_version": 2, "measurements": rows, "points": points}


def _upgrade_v2(doc: dict[str, Any], stem: str) -> dict[str, Any]:
    """v2 -> v3: rows gained what scored their metric and the padding of the timed inputs;
    points gained the metric per scoring runtime. v2 files recorded none of them (None / {})."""
    empty_row: dict[str, Any] = dict.fromkeys(
        ("metric_source", "pad_last_rows", "padded_token_fraction")
    )
    rows = [{**empty_row, **row} for row in doc.get("measurements", [])]
    empty_point: dict[str, Any] = {"metric_source": None, "metrics_by_runtime": {}}
    points = [{**empty_point, **point} for point in doc.get("points", [])]
    return {**doc, "schema_version": 3, "measurements": rows, "points": points}


def _upgrade_v3(doc: dict[str, Any], stem: str) -> dict[str, Any]:
    """v3 -> v4: points and rows gained the sweep seed they were built with; every v3 run had
    one seed, 0 (its calibration.seed and fine-tune seed are in its config)."""
    rows = [{"seed": 0, **row} for row in doc.get("measurements", [])]
    points = [{"seed": 0, **point} for point in doc.get("points", [])]
    return {**doc, "schema_version": 4, "measurements": rows, "points": points}


def _upgrade_v4(doc: dict[str, Any], stem: str) -> dict[str, Any]:
    """v4 -> v5: points and rows gained the budget their ratio keeps ("flops" for every v4 run)
    and the achieved parameter ratio; rows gained the decode tokens and tokens/s of decoder
    timings. v4 files timed encoders only (None)."""
    new_row: dict[str, Any] = {
        "budget": "flops",
        "achieved_params_ratio": None,
        "decode_tokens": None,
        "tokens_per_s": None,
    }
    rows = [{**new_row, **row} for row in doc.get("measurements", [])]
    new_point: dict[str, Any] = {"budget": "flops", "achieved_params_ratio": None}
    points = [{**new_point, **point} for point in doc.get("points", [])]
    return {**doc, "schema_version": 5, "measurements": rows, "points": points}


# version -> function that upgrades a document of that version by one step.
UPGRADES: dict[int, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    0: _upgrade_v0,
    1: _upgrade_v1,
    2: _upgrade_v2,
    3: _upgrade_v3,
    4: _upgrade_v4,
}


def upgrade_document(doc: dict[str, Any], stem: str) -> dict[str, Any]:
    """``doc`` brought to SCHEMA_VERSION (``stem``: file stem, the run_id of id-less versions)."""
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SchemaVersionError(f"schema_version is {version!r}, not an integer")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"schema_version {version} is newer than this kprune-bench reads ({SCHEMA_VERSION}); "
            "update kprune-bench"
        )
    while version < SCHEMA_VERSION:
        if version not in UPGRADES:
            raise SchemaVersionError(f"no upgrade path from schema_version {version}")
        doc = UPGRADES[version](doc, stem)
        log.debug("upgraded a results document from schema %d", version)
        version = doc["schema_version"]
    return doc
