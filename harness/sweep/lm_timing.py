"""Time a decoder point's trials: per trial (runtime, batch, prompt length) its prefill and its
KV-cache decode, each interleaved with the dense model's (same runtime, shape and prompt), one
group per (backend, device, threads), as `sweep.timing` does for encoders.

The two parts are `harness.measure.decoder_timing`'s definitions: prefill = one forward over
batch x prompt tokens without a cache; decode = `language_model.new_tokens` greedy steps on the
cache of a prompt prefilled before the clock starts. Prompts are seeded random token ids (no
padding: every row has the prompt's length). Returns raw `TrialTiming`s by key: the trial's key
for prefill, `decode_key(trial)` for decode; rows are `sweep.lm_rows`'.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from harness.measure.clock import Timed, TimingResult
from harness.measure.survivors import Failure, measure_survivors
from harness.results.atomic_files import storage_cause
from harness.results.environment import load_snapshot
from harness.runtimes.base import RuntimeSpec
from harness.runtimes.causal_lm import CausalLM
from harness.runtimes.ort_causal_lm import OrtCausalLM
from harness.runtimes.torch_causal_lm import TorchCausalLM
from harness.sweep.groups import log_failure, runtime_groups
from harness.sweep.lm_stages import ONNX_ARTIFACT
from harness.sweep.types import LmInputs, Subject, Trial, TrialTiming

log = logging.getLogger(__name__)

DECODE = "#decode"
DENSE_TWIN = "#dense"


def decode_key(trial: Trial) -> str:
    """Where a trial's decode timing is filed (its prefill timing is under `trial.key`)."""
    return trial.key + DECODE


def prompt_ids(inputs: LmInputs, trial: Trial) -> np.ndarray:
    """Seeded random prompt `[batch, seq_len]` (the same for every point and runtime)."""
    rng = np.random.default_rng(inputs.config.seed)
    return rng.integers(0, inputs.vocab_size, size=(trial.batch_size, trial.seq_len))


def causal_lm(subject: Subject, spec: RuntimeSpec) -> CausalLM:
    """The subject's model on `spec`: PyTorch eager, or ORT over the exported graphs."""
    if spec.backend == "torch":
        model = subject.built.model.to(spec.device)
        return TorchCausalLM(model)
    graphs = subject.artifacts[ONNX_ARTIFACT]
    return OrtCausalLM(graphs.prefill_path, graphs.decode_path, spec)


def _setups(
    inputs: LmInputs, subject: Subject, reference: Subject | None, trial: Trial
) -> dict[str, Callable[[], Timed]]:
    """Prefill and decode of the trial, each followed by its dense twin."""
    assert inputs.config.language_model is not None
    new_tokens = inputs.config.language_model.new_tokens
    ids = prompt_ids(inputs, trial)
    sides = [("", subject)] + ([(DENSE_TWIN, reference)] if reference is not None else [])
    setups: dict[str, Callable[[], Timed]] = {}

    def prefill(which: Subject) -> Timed:
        lm = causal_lm(which, trial.runtime)
        return Timed(lambda: lm.logits(ids), lm.sync)

    def decode(which: Subject) -> Timed:
        lm = causal_lm(which, trial.runtime)
        start = lm.start(ids)
        return Timed(lambda: lm.decode(start, new_tokens), lm.sync)

    for suffix, which in sides:
        setups[trial.key + suffix] = lambda which=which: prefill(which)  # type: ignore[misc]
    for suffix, which in sides:
        setups[decode_key(trial) + suffix] = lambda which=which: decode(which)  # type: ignore[misc]
    return setups


def _timing(key: str, raw: dict[str, TimingResult | Failure], state: dict[str, Any]) -> TrialTiming:
    own, twin = raw[key], raw.get(key + DENSE_TWIN)
    if isinstance(own, Failure):
        return TrialTiming(None, own.error, **state)
    if isinstance(twin, Failure):
        log.warning("the dense twin of %s failed (%s); no interleaved dense", key, twin.error)
    return TrialTiming(own, dense=twin if isinstance(twin, TimingResult) else None, **state)


def _measure_group(
    inputs: LmInputs,
    subject: Subject,
    reference: Subject | None,
    group: list[Trial],
    keep_going: bool,
) -> dict[str, TrialTiming]:
    threads = group[0].runtime.threads
    threads_before = torch.get_num_threads()
    setups: dict[str, Callable[[], Timed]] = {}
    for trial in group:
        setups.update(_setups(inputs, subject, reference, trial))
    before = load_snapshot()
    try:
        if threads is not None and group[0].runtime.device == "cpu":
            torch.set_num_threads(threads)  # PyTorch's intra-op threads; ORT sets its own
        raw = measure_survivors(setups, inputs.config.timing, stop_on_error=not keep_going)
    finally:
        torch.set_num_threads(threads_before)
    state = {"state_before": before, "state_after": load_snapshot(), "pad_last_rows": 0}
    used, pid = _threads(group[0].runtime), os.getpid()
    raw = {
        k: dataclasses.replace(r, threads=used, pid=pid) if isinstance(r, TimingResult) else r
        for k, r in raw.items()
    }
    return {key: _timing(key, raw, state) for t in group for key in (t.key, decode_key(t))}


def _threads(spec: RuntimeSpec) -> int | None:
    """Intra-op threads the timed calls ran with (ORT's 0 = its own default: not known here)."""
    if spec.backend == "torch" and spec.device == "cpu":
        return spec.threads or torch.get_num_threads()
    return spec.threads


def time_trials(
    inputs: LmInputs,
    subject: Subject,
    reference: Subject | None,
    trials: Sequence[Trial],
    *,
    keep_going: bool,
    progress: bool,
) -> dict[str, TrialTiming]:
    """Raw prefill and decode timings by key (`progress` is the encoder signature's: a decoder
    point's few trials show no bar); a group that fails as a whole records its error
    for each of its trials under keep-going (the other groups go on), else raises."""
    timings: dict[str, TrialTiming] = {}
    for (backend, device, threads), group in runtime_groups(trials).items():
        try:
            timings.update(_measure_group(inputs, subject, reference, group, keep_going))
        except Exception as error:  # recorded per trial under keep-going, else re-raised
            if not keep_going or storage_cause(error) is not None:
                raise
            log_failure(error, "timing %s/%s (threads %s) failed", backend, device, threads)
            text = f"{type(error).__name__}: {error}"
            for trial in group:
                timings[trial.key] = timings[decode_key(trial)] = TrialTiming(None, text)
    return timings
