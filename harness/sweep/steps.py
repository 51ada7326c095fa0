"""Which stage functions a sweep's points go through: the encoder stages (`sweep.stages`,
`sweep.timing`, `sweep.rows`) or, for a config with a `[language_model]` section, their decoder
twins (`sweep.lm_stages`, `sweep.lm_timing`, `sweep.lm_rows`). Building (pruning) a point is the
same for both (`stages.build_point`). The one place that tells the two kinds apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from harness.config.schema import BenchmarkConfig
from harness.results.records import Measurement
from harness.sweep import lm_rows, lm_stages, lm_timing, rows, stages, timing


@dataclass(frozen=True)
class Steps:
    """The stage functions of one kind of sweep (signatures as in `sweep.stages`)."""

    load_inputs: Callable[..., Any]
    export_point: Callable[..., Any]
    evaluate_point: Callable[..., Any]
    time_trials: Callable[..., Any]
    measurements: Callable[..., list[Measurement]]
    build_point: Callable[..., Any]


def _encoder_rows(trials: Any, record: Any, timings: Any, *args: Any) -> list[Measurement]:
    return [rows.measurement(t, record, timings[t.key], *args) for t in trials]


def steps_for(config: BenchmarkConfig) -> Steps:
    """The functions as the modules hold them now (looked up per sweep, not at import)."""
    if config.language_model is None:
        return Steps(
            stages.load_inputs,
            partial(stages.export_point, atol=config.task.export_atol),
            stages.evaluate_point,
            timing.time_trials,
            _encoder_rows,
            stages.build_point,
        )
    return Steps(
        lm_stages.load_inputs,
        partial(lm_stages.export_point, atol=config.language_model.export_atol),
        lm_stages.evaluate_point,
        lm_timing.time_trials,
        partial(lm_rows.measurements, new_tokens=config.language_model.new_tokens),
        stages.build_point,
    )
