"""The stages of one decoder (causal LM) sweep point, the twins of `sweep.stages` for a config with
a `[language_model]` section: load the decoder, its evaluation token stream and calibration
windows; build (prune) the point exactly as an encoder's (`stages.build_point`); export the
prefill and decode-with-cache graphs; score perplexity with PyTorch and the exported prefill
graph. Timing is `sweep.lm_timing`'s, rows are `sweep.lm_rows`'.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.config.schema import BenchmarkConfig, LanguageModelSpec
from harness.data.texts import read_text, tokenize_articles
from harness.data.texts.windows import calibration_windows
from harness.errors import MeasuredFailure, UsageError
from harness.export.decoder_onnx import export_decoder_onnx
from harness.measure.perplexity import PerplexityResult, PerplexitySpec, perplexity
from harness.models.load import Head, load_model
from harness.runtimes.base import RuntimeSpec
from harness.runtimes.ort_causal_lm import OrtCausalLM
from harness.runtimes.torch_causal_lm import TorchCausalLM
from harness.sweep.seeds import seeded_config
from harness.sweep.types import ArtifactKey, LmInputs, PointModel

log = logging.getLogger(__name__)

METRIC = "perplexity"
"""The decoder sweep's metric name (lower is better: `harness.report.columns.LOWER_IS_BETTER`)."""
ONNX_ARTIFACT: ArtifactKey = ("onnx", "float32")


class DecoderTokenizerMissingError(UsageError):
    """The decoder checkpoint ships no tokenizer (a text must be tokenized by its own)."""


class PerplexityMismatchError(MeasuredFailure):
    """The exported prefill graph's perplexity differs from PyTorch's beyond the tolerance."""


def perplexity_spec(spec: LanguageModelSpec) -> PerplexitySpec:
    return PerplexitySpec(spec.window_tokens, spec.stride_tokens, spec.max_eval_windows)


def load_inputs(
    config: BenchmarkConfig, *, progress: bool, calibrate: bool, seed: int = 0
) -> LmInputs:
    """The decoder, its tokenizer, the evaluation token stream and (`calibrate`) the calibration
    windows of sweep seed `seed` (calibration.seed + seed)."""
    sweep_config, config = config, seeded_config(config, seed)
    assert config.language_model is not None, "a decoder sweep has a language_model section"
    lm = config.language_model
    loaded = load_model(config.model, Head("causal_lm"), progress=progress)
    if loaded.tokenizer is None:
        raise DecoderTokenizerMissingError(
            "the decoder checkpoint has no tokenizer files; add them to its folder"
        )
    stream = tokenize_articles(loaded.tokenizer, read_text(lm.eval_text))
    batches = []
    if calibrate:
        calibration = tokenize_articles(loaded.tokenizer, read_text(lm.calibration_text))
        window = config.calibration_max_length
        batches = calibration_windows(calibration, window, config.calibration)
        log.info(
            "calibration: %d windows of %d tokens from %s (%d tokens)",
            sum(len(b["input_ids"]) for b in batches),
            window,
            lm.calibration_text,
            len(calibration),
        )
    model_config: Any = loaded.model.config
    return LmInputs(
        config=sweep_config,
        model=loaded.model,
        tokenizer=loaded.tokenizer,
        eval_stream=stream,
        batches=batches,
        seed=seed,
        vocab_size=int(model_config.vocab_size),
        description=loaded.description,
    )


def export_point(
    built: PointModel,
    needed: Iterable[ArtifactKey],
    folder: Path,
    input_names: Any = None,
    *,
    atol: float,
) -> dict[ArtifactKey, Any]:
    """`prefill.onnx` and `decode.onnx` of the point's model, gated against PyTorch within
    `atol` (language_model.export_atol), when an ONNX Runtime trial (or `export`) needs them;
    filed under the float32 graph's key."""
    if not set(needed):
        return {}
    return {ONNX_ARTIFACT: export_decoder_onnx(built.model, folder, atol=atol)}


def _scored(name: str, result: PerplexityResult) -> PerplexityResult:
    log.info(
        "%s: perplexity %.4f (%d tokens, %d windows of %d, stride %d)",
        name,
        result.perplexity,
        result.tokens_scored,
        result.windows,
        result.window_tokens,
        result.stride_tokens,
    )
    return result


def _check_exported(
    inputs: LmInputs, built: PointModel, graphs: Any, spec: PerplexitySpec, reference: float
) -> dict[str, PerplexityResult]:
    """ORT's prefill graph scored on `ort_check_windows` windows against PyTorch on the same
    windows (all windows: against `reference`); its score by runtime name when it scored all."""
    lm = inputs.config.language_model
    assert lm is not None
    ort_spec = RuntimeSpec("onnxruntime")
    ort = OrtCausalLM(graphs.prefill_path, graphs.decode_path, ort_spec)
    windows = lm.ort_check_windows
    if windows is not None and spec.max_windows is not None:
        windows = min(windows, spec.max_windows)
    check = spec if windows is None else dataclasses.replace(spec, max_windows=windows)
    got = _scored(ort_spec.name, perplexity(ort.logits, inputs.eval_stream, check))
    if windows is not None:
        torch_lm = TorchCausalLM(built.model)
        reference = perplexity(torch_lm.logits, inputs.eval_stream, check).perplexity
    if abs(got.perplexity / reference - 1.0) > lm.ort_rel_tolerance:
        raise PerplexityMismatchError(
            f"{built.point.key}: perplexity {reference:.4f} with PyTorch but {got.perplexity:.4f} "
            f"with {ort_spec.name} on {got.windows} windows (relative tolerance "
            f"{lm.ort_rel_tolerance})"
        )
    return {} if windows is not None else {ort_spec.name: got}


def evaluate_point(
    inputs: LmInputs, built: PointModel, artifacts: dict[ArtifactKey, Any], progress: bool
) -> PointModel:
    """The point with its perplexity: PyTorch float32 (the reference) and, when the graphs were
    exported, ONNX Runtime's prefill graph checked against it (`_check_exported`; a miss is
    `PerplexityMismatchError`). Unchanged when the sweep does not evaluate."""
    config = inputs.config
    if not config.evaluate:
        return built
    assert config.language_model is not None
    spec = perplexity_spec(config.language_model)
    torch_name = RuntimeSpec("torch").name
    lm = TorchCausalLM(built.model)
    scores = {torch_name: _scored(torch_name, perplexity(lm.logits, inputs.eval_stream, spec))}
    reference = scores[torch_name].perplexity
    if ONNX_ARTIFACT in artifacts:
        scores.update(_check_exported(inputs, built, artifacts[ONNX_ARTIFACT], spec, reference))
    record = dataclasses.replace(
        built.record,
        metric_name=METRIC,
        metric_value=float(reference),
        metric_source=torch_name,
        metrics_by_runtime={name: float(r.perplexity) for name, r in scores.items()},
    )
    return dataclasses.replace(built, record=record)
