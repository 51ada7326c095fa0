"""How a point's trials are timed together, shared by the encoder and decoder timing stages: one
group per (backend, device, threads), and how a failure inside a group is logged. A leaf: no
models, no clocks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from harness.errors import HarnessError
from harness.sweep.types import Trial

log = logging.getLogger(__name__)

GroupKey = tuple[str, str, int | None]


def runtime_groups(trials: Sequence[Trial]) -> dict[GroupKey, list[Trial]]:
    """Trials by (backend, device, threads), in first-seen order."""
    groups: dict[GroupKey, list[Trial]] = {}
    for trial in trials:
        r = trial.runtime
        groups.setdefault((r.backend, r.device, r.threads), []).append(trial)
    return groups


def log_failure(error: BaseException, message: str, *args: object) -> None:
    """A typed error is its own message (no traceback); anything else is a bug: keep its stack."""
    typed = isinstance(error, HarnessError)
    log.error(message + ": %s", *args, error, exc_info=None if typed else error)
