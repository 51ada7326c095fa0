"""Turn a decoder point's record and raw prefill/decode timings into `Measurement` rows: per trial
a prefill row (the runtime's own variant) and a decode row (variant + `DECODE_VARIANT`), each
with its speedup against the dense model's timing of the same part and its tokens/s.
Pure: no files, devices or timing (the statistics are `sweep.rows`').
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from harness.results.records import Measurement, PrunePoint
from harness.sweep import rows
from harness.sweep.lm_timing import decode_key
from harness.sweep.types import ArtifactKey, Trial, TrialTiming

DECODE_VARIANT = "-decode"
"""Suffix of a decode row's variant (`eager-decode`, `default-decode`): its own trial key, so
its dense row and speedup pair with the dense decode row, never with prefill."""


def _tokens_per_s(row: Measurement, tokens_per_call: int) -> float | None:
    if row.latency is None:
        return None
    return row.batch_size * tokens_per_call / (row.latency.median_ms / 1e3)


def _decode_stored(trial: Trial, stored: Mapping[str, list[float]]) -> dict[str, list[float]]:
    """The stored dense decode samples under the key `rows` looks up (the prefill dense key)."""
    dense = trial.dense_key.split("|")
    dense[1] = dense[1].replace(
        f"/{trial.runtime.variant}/", f"/{trial.runtime.variant}{DECODE_VARIANT}/"
    )
    return {trial.dense_key: list(stored.get("|".join(dense), []))}


def measurements(
    trials: Sequence[Trial],
    record: PrunePoint,
    timings: Mapping[str, TrialTiming],
    stored_dense: Mapping[str, list[float]],
    export_seconds: Mapping[ArtifactKey, float],
    fused_ops: Mapping[ArtifactKey, Any] | None = None,
    *,
    new_tokens: int,
) -> list[Measurement]:
    """Prefill and decode rows of every trial (error rows where a part was not timed).
    `fused_ops` is accepted for the encoder rows' signature (`sweep.steps`); decoder graphs are
    never ORT-fused, so it is empty."""
    out = []
    for trial in trials:
        prefill = rows.measurement(trial, record, timings[trial.key], stored_dense, export_seconds)
        out.append(dataclasses.replace(prefill, tokens_per_s=_tokens_per_s(prefill, trial.seq_len)))
        decode = rows.measurement(
            trial,
            record,
            timings[decode_key(trial)],
            _decode_stored(trial, stored_dense),
            export_seconds,
        )
        out.append(
            dataclasses.replace(
                decode,
                variant=decode.variant + DECODE_VARIANT,
                decode_tokens=new_tokens,
                tokens_per_s=_tokens_per_s(decode, new_tokens),
            )
        )
    return out
