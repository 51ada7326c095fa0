"""Which device timed a stored row, and the one way to pair a pruned row with its dense row:
on the same device only (a GPU's UUID; on CPU the machine id), never across devices.

Pure: reads `BenchmarkRun` records, never measures.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.results.keys import DENSE_METHOD, dense_key_of, measurement_key
from harness.results.records import BenchmarkRun, Measurement

log = logging.getLogger(__name__)


class CrossDeviceSpeedupError(UsageError):
    """A speedup would divide timings taken on two different devices."""


def device_identity(environment: Mapping[str, Any], device: str) -> str:
    """The identity of the `device` ("cpu", "cuda") a fingerprint's process timed on: what
    `environment["timing_devices"]` recorded (a GPU's UUID, a machine id); for runs recorded
    before that field, the machine id stands for each of its devices."""
    recorded = (environment.get("timing_devices") or {}).get(device)
    if recorded:
        return str(recorded)
    machine = environment.get("machine_id") or "unknown-machine"
    return str(machine) if device == "cpu" else f"{machine}/{device}"


def row_environment(run: BenchmarkRun, row: Any) -> Mapping[str, Any]:
    """The fingerprint of the process that measured `row` (a `Measurement` or `PrunePoint`)."""
    key = getattr(row, "fingerprint", None)
    if key is None:
        return run.environment
    fingerprints = run.environment.get("fingerprints") or {}
    if key not in fingerprints:
        raise UsageError(
            f"run {run.run_id}: a row names fingerprint {key!r}, which the run does not hold; "
            "the file was edited by hand or truncated: re-merge it from its shard files"
        )
    return fingerprints[key]  # type: ignore[no-any-return]


def row_device(run: BenchmarkRun, row: Measurement) -> str:
    """The identity of the device that timed `row`."""
    return device_identity(row_environment(run, row), row.device)


def dense_row_for(run: BenchmarkRun, row: Measurement) -> Measurement | None:
    """The dense row a pruned row's speedup is formed against: same trial key, same device.
    None when no dense row has its key; `CrossDeviceSpeedupError` when only rows from other
    devices do (a merged run whose shard lost its dense point on that device)."""
    wanted = dense_key_of(measurement_key(row))
    candidates = [
        m for m in run.measurements if m.method == DENSE_METHOD and measurement_key(m) == wanted
    ]
    device = row_device(run, row)
    same = [m for m in candidates if row_device(run, m) == device]
    if same:
        return same[0]
    if candidates:
        others = sorted({row_device(run, m) for m in candidates})
        raise CrossDeviceSpeedupError(
            f"{measurement_key(row)} was timed on {device}, but {wanted} only on {others}: a "
            "speedup across devices is refused; rerun that device's shard with --resume"
        )
    return None


def check_resume_devices(
    stored: Mapping[str, Any], current: Mapping[str, Any], path: Path | str
) -> None:
    """`UsageError` when a results file measured on one device would be continued on another
    (a shard requeued onto another GPU of the same machine): rows of one run file share their
    devices, so no speedup inside it mixes two devices."""
    recorded = stored.get("timing_devices") or {}  # files from before it: nothing to compare
    for device, now in (current.get("timing_devices") or {}).items():
        before = recorded.get(device)
        if before and now and before != now:
            raise UsageError(
                f"cannot resume {path}: it was timed on {device} {before}, this process times "
                f"on {now}; run without --resume (a new results file) and `kprune-bench merge` "
                "the two"
            )
