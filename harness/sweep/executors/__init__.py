"""Who runs a sweep's pending points: `local` (this process, one point after another: the
default) or `ray` (prune tasks feed timing tasks on a Ray cluster, each timing task alone on its
device). An executor streams outcomes back; `sweep.run` stores them and owns the error policy.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

from harness.config.schema import BenchmarkConfig
from harness.errors import UsageError
from harness.results.session import RunSession
from harness.sweep.types import Outcome, Point, Trial

DEFAULT = "local"
NAMES = ("local", "ray")


def check(name: str, config: BenchmarkConfig) -> None:
    """`UsageError` unless the executor is known and can run this config here."""
    if name not in NAMES:
        raise UsageError(f"--executor {name!r} is unknown; choose one of {list(NAMES)}")
    if name == "ray" and config.language_model is not None:
        raise UsageError(
            "--executor ray runs encoder sweeps; a language_model (decoder) sweep runs on the "
            "local executor: drop --executor, or split it with --shard over several machines"
        )
    if name == "ray":
        from harness.sweep.executors.ray_executor import check_ray

        check_ray(config)


def run(
    name: str,
    config: BenchmarkConfig,
    session: RunSession,
    pending: dict[Point, list[Trial]],
    artifacts: Path,
    *,
    keep_going: bool,
    progress: bool,
) -> Generator[tuple[Point, list[Trial], Outcome], None, None]:
    """Each pending point's outcome as soon as it is known (any order)."""
    assert name == "ray", f"the {name!r} executor runs inside sweep.run"
    from harness.sweep.executors.ray_executor import run_points

    return run_points(config, session, pending, artifacts, keep_going=keep_going, progress=progress)
