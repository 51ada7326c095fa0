"""A decoder (causal LM) sweep end to end on a tiny random GQA Llama with your own text files:
perplexity from PyTorch and the exported prefill graph, prefill and KV-cache decode rows per trial
with speedups against the dense model's same part, FLOPs and parameter budgets, resume, and the
errors a decoder config can hit.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from harness.config.load import apply_overrides, config_from_dict
from harness.errors import ConfigError, UsageError
from harness.measure.perplexity import PerplexitySpec, perplexity
from harness.runtimes.torch_causal_lm import TorchCausalLM
from harness.sweep.lm_rows import DECODE_VARIANT
from harness.sweep.run import run_benchmark
from tests.harness.task_fixtures import WORDS, tiny_tokenizer

pytestmark = pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")


def _checkpoint(folder: Path) -> Path:
    tokenizer = tiny_tokenizer(folder / "_vocab")
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=96,
        max_position_embeddings=64,
        initializer_range=0.2,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _text(path: Path, seed: int, articles: int = 12) -> Path:
    g = torch.Generator().manual_seed(seed)
    words = [w for w in WORDS if w.isalpha()]
    paragraphs = []
    for _ in range(articles):
        picks = torch.randint(len(words), (40,), generator=g).tolist()
        paragraphs.append(" ".join(words[i] for i in picks) + " .")
    path.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("decoder")
    return {
        "model": _checkpoint(root / "llama"),
        "eval": _text(root / "eval.txt", 1),
        "calibration": _text(root / "calibration.txt", 2),
    }


def _config(files: dict[str, Path], *overrides: str):  # type: ignore[no-untyped-def]
    config = config_from_dict(
        {
            "name": "tiny-decoder",
            "model": {"source": "local", "path": str(files["model"])},
            "language_model": {
                "eval_text": str(files["eval"]),
                "calibration_text": str(files["calibration"]),
                "window_tokens": 16,
                "stride_tokens": 16,
                "max_eval_windows": 4,
                "new_tokens": 3,
                "ort_check_windows": None,
            },
            "calibration": {"num_tokens": 96, "batch_size": 2},
            "methods": ["kprune", "uniform"],
            "flops_ratios": [1.0, 0.6],
            "batch_sizes": [2],
            "seq_lens": [8],
            "runtimes": [
                {"backend": "torch", "threads": 1},
                {"backend": "onnxruntime", "threads": 1},
            ],
            "timing": {"warmup_iters": 0, "min_iters": 2, "min_seconds": 0.0, "max_seconds": 1.0},
        }
    )
    return apply_overrides(config, list(overrides))


@pytest.mark.slow  # prunes twice, exports three models' prefill and decode graphs
def test_decoder_sweep_scores_perplexity_and_times_prefill_and_decode(files, tmp_path):
    config = _config(files)
    out = tmp_path / "results"
    run = run_benchmark(config, out, progress=False, artifacts_dir=tmp_path / "artifacts")
    points = {p.method: p for p in run.points}
    assert set(points) == {"dense", "kprune", "uniform"}
    dense = points["dense"]
    # the dense perplexity is the plain sliding-window perplexity of the checkpoint
    model = LlamaForCausalLM.from_pretrained(files["model"]).eval()
    from transformers import AutoTokenizer

    from harness.data.texts import read_text, tokenize_articles

    stream = tokenize_articles(
        AutoTokenizer.from_pretrained(files["model"]), read_text(str(files["eval"]))
    )
    expected = perplexity(TorchCausalLM(model).logits, stream, PerplexitySpec(16, 16, 4))
    assert dense.metric_name == "perplexity"
    assert dense.metric_value == pytest.approx(expected.perplexity, rel=1e-6)
    for point in points.values():
        assert point.error is None and math.isfinite(point.metric_value)
        # scored on every window (ort_check_windows = None): ORT rows carry ORT's perplexity
        ort = point.metrics_by_runtime["onnxruntime-cpu-float32-default"]
        assert ort == pytest.approx(point.metric_value, rel=1e-3)
        assert point.achieved_params_ratio is not None and point.budget == "flops"
    for method in ("kprune", "uniform"):
        assert points[method].achieved_flops_ratio <= 0.6
        assert points[method].achieved_params_ratio < 1.0
    # per point: 2 runtimes x (prefill + decode)
    assert len(run.measurements) == 3 * 4
    for row in run.measurements:
        assert row.error is None and row.samples_ms and row.tokens_per_s > 0
        decode = row.variant.endswith(DECODE_VARIANT)
        assert row.decode_tokens == (3 if decode else None)
        tokens = row.batch_size * (3 if decode else row.seq_len)
        assert row.tokens_per_s == pytest.approx(tokens / (row.latency.median_ms / 1e3))
        if row.method != "dense":
            assert row.dense_samples_ms and row.speedup_vs_dense > 0
    variants = {(r.backend, r.variant) for r in run.measurements}
    assert variants == {
        ("torch", "eager"),
        ("torch", "eager" + DECODE_VARIANT),
        ("onnxruntime", "default"),
        ("onnxruntime", "default" + DECODE_VARIANT),
    }
    done: list[object] = []
    run_benchmark(
        config,
        out,
        resume=True,
        progress=False,
        on_point_done=done.append,
        artifacts_dir=tmp_path / "artifacts",
    )
    assert done == []  # every trial, decode rows included, was already stored


@pytest.mark.slow  # exports one graph
def test_by_default_the_exported_graph_is_checked_on_one_window(files, tmp_path):
    """ORT's perplexity on the first window equals PyTorch's there; its rows then carry the
    PyTorch perplexity of every window, and say so."""
    config = _config(
        files, "language_model.ort_check_windows=1", "methods=['uniform']", "flops_ratios=[1.0]"
    )
    run = run_benchmark(config, tmp_path / "results", progress=False, artifacts_dir=tmp_path / "a")
    (point,) = run.points
    assert set(point.metrics_by_runtime) == {"torch-cpu-float32-eager"}
    ort_rows = [r for r in run.measurements if r.backend == "onnxruntime"]
    assert ort_rows and all(r.metric_value == point.metric_value for r in ort_rows)
    assert {r.metric_source for r in ort_rows} == {"torch-cpu-float32-eager"}


@pytest.mark.slow  # prunes twice
def test_a_parameter_budget_keeps_that_share_of_the_parameters(files, tmp_path):
    config = _config(
        files,
        "budget='params'",
        "flops_ratios=[1.0,0.8]",
        "methods=['kprune','random']",
        "runtimes=[{backend='torch',threads=1}]",
    )
    run = run_benchmark(config, tmp_path / "results", progress=False, artifacts_dir=tmp_path / "a")
    dense = next(p for p in run.points if p.method == "dense")
    for point in run.points:
        assert point.budget == "params"
        assert point.achieved_params_ratio == pytest.approx(point.params / dense.params)
        if point.method != "dense":
            assert point.achieved_params_ratio <= 0.8
            assert point.method_config["target_params_ratio"] == 0.8
            assert point.method_config["target_flops_ratio"] == 1.0


def test_a_decoder_sweep_refuses_what_it_cannot_run(files):
    with pytest.raises(ConfigError, match="model.source"):
        _config(files, "model.source='tiny-random'")
    with pytest.raises(ConfigError, match="float32 eager"):
        _config(files, "runtimes=[{backend='onnxruntime',variant='fused'}]")
    with pytest.raises(ConfigError, match="must differ"):
        _config(files, f"language_model.calibration_text='{files['eval']}'")
    with pytest.raises(ConfigError, match="budget"):
        _config(files, "budget='bytes'")


def test_unknown_text_and_too_short_calibration_are_usage_errors(files, tmp_path):
    from harness.sweep.run import preflight_sweep

    config = _config(files, "language_model.eval_text='no-such-text'")
    with pytest.raises(UsageError, match="neither a bundled text"):
        preflight_sweep(config, tmp_path / "r")
    import numpy as np

    from harness.config.schema import CalibrationSpec
    from harness.data.texts.windows import CalibrationTextError, calibration_windows

    stream = np.arange(50)
    with pytest.raises(CalibrationTextError, match="replacement"):
        calibration_windows(stream, 16, CalibrationSpec(num_tokens=64, replacement=False))
    with pytest.raises(CalibrationTextError, match="fewer than one window"):
        calibration_windows(stream, 64, CalibrationSpec(num_tokens=64))


def test_calibration_windows_are_whole_seeded_windows_of_the_stream():
    import numpy as np

    from harness.config.schema import CalibrationSpec
    from harness.data.texts.windows import calibration_windows

    stream = np.arange(100)
    spec = CalibrationSpec(num_tokens=40, batch_size=2, seed=3)
    batches = calibration_windows(stream, 10, spec)
    again = calibration_windows(stream, 10, spec)
    assert [b["input_ids"].shape for b in batches] == [(2, 10), (2, 10)]
    for batch, same in zip(batches, again, strict=True):
        assert torch.equal(batch["input_ids"], same["input_ids"])
        assert bool(batch["attention_mask"].all())
        for row in batch["input_ids"]:
            assert int(row[0]) % 10 == 0 and torch.equal(
                row, torch.arange(int(row[0]), int(row[0]) + 10)
            )
    other = calibration_windows(stream, 10, CalibrationSpec(num_tokens=40, batch_size=2, seed=4))
    assert any(not torch.equal(a["input_ids"], b["input_ids"]) for a, b in zip(batches, other))


def test_prepare_loads_the_decoder_and_the_preset_names_its_assets(files):
    from harness.config.load import load_config
    from harness.sweep.prepare import needed_assets, prepare

    prepare(_config(files), install=False, progress=False)  # the local checkpoint and texts
    decoder = load_config("decoder")
    assert needed_assets(decoder) == ["wikipedia_excerpt", "lee_background", "smollm2"]
    assert decoder.budget == "params" and decoder.language_model is not None


def test_an_unsupported_decoder_family_names_itself_and_the_supported_ones(tmp_path, files):
    from transformers import OPTConfig, OPTForCausalLM

    from harness.sweep.run import preflight_sweep

    folder = tmp_path / "opt"
    config = OPTConfig(
        vocab_size=64,
        hidden_size=16,
        num_hidden_layers=1,
        ffn_dim=32,
        num_attention_heads=2,
        word_embed_proj_dim=16,
    )
    OPTForCausalLM(config).save_pretrained(folder)
    tiny_tokenizer(folder)
    with pytest.raises(UsageError, match="OPTForCausalLM.*LlamaForCausalLM"):
        preflight_sweep(_config(files, f"model.path='{folder}'"), tmp_path / "r")
