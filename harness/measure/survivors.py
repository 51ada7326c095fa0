"""Time several configurations interleaved when some of them may fail: a configuration whose
setup or call raises is set aside with its error (logged with its traceback) and the others are
timed again from the start, so every survivor gets the same rounds. `stop_on_error` re-raises
the first error instead (a sweep without --keep-going).

Pure loop logic over `measure_interleaved`; it never loads models itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from harness.measure.clock import Clock, Timed, TimingResult, TimingSpec, measure_interleaved

log = logging.getLogger(__name__)

Setup = Callable[[], Timed]
"""Loads a runtime and binds its inputs: what may fail before timing starts."""


@dataclass(frozen=True)
class Failure:
    """Why one configuration was not timed: ``"ErrorType: message"``."""

    error: str


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class _CallFailed(Exception):
    """A timed call (or its sync) of configuration `name` raised `error`."""

    def __init__(self, name: str, error: Exception) -> None:
        super().__init__(name)
        self.name, self.error = name, error


def _guarded(name: str, timed: Timed) -> Timed:
    def run() -> object:
        try:
            return timed.run()
        except Exception as error:  # tagged with the configuration, handled by the caller
            raise _CallFailed(name, error) from error

    def sync() -> None:
        try:
            timed.sync()
        except Exception as error:  # a device error often surfaces at the sync
            raise _CallFailed(name, error) from error

    return Timed(run, sync)


def _set_up(
    setups: Mapping[str, Setup], stop_on_error: bool
) -> tuple[dict[str, Timed], dict[str, Failure]]:
    ready: dict[str, Timed] = {}
    failed: dict[str, Failure] = {}
    for name, setup in setups.items():
        try:
            ready[name] = setup()
        except Exception as error:  # recorded as this configuration's error; the others go on
            if stop_on_error:
                raise
            log.exception("%s could not be loaded; recorded, the others go on", name)
            failed[name] = Failure(describe(error))
    return ready, failed


def measure_survivors(
    setups: Mapping[str, Setup],
    spec: TimingSpec,
    *,
    stop_on_error: bool,
    clock: Clock = time.perf_counter,
) -> dict[str, TimingResult | Failure]:
    """Every configuration's timing, or its `Failure`; the survivors are interleaved."""
    ready, failed = _set_up(setups, stop_on_error)
    while ready:
        guarded = {name: _guarded(name, timed) for name, timed in ready.items()}
        try:
            results: dict[str, TimingResult | Failure] = dict(
                measure_interleaved(guarded, spec, clock)
            )
            return {**results, **failed}
        except _CallFailed as failure:
            if stop_on_error:
                raise failure.error from None  # the error itself, with its own traceback
            log.error(
                "%s failed while timed; recorded, the others go on",
                failure.name,
                exc_info=failure.error,
            )
            failed[failure.name] = Failure(describe(failure.error))
            del ready[failure.name]
    return dict(failed)
