"""Structure replay: every point of the committed default run rebuilt as its exact pruned
architecture (heads, neurons, empty sublayers, parameter count), refused on the wrong shape, and a
replay sweep whose rows carry the stored run's metric, labelled as replayed."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.load import apply_overrides, load_config
from harness.config.schema import ModelSpec
from harness.errors import ConfigError
from harness.models.load import Head, load_model
from harness.models.replay import ReplayError, replay_point
from harness.results.records import BenchmarkRun, PrunePoint, read_run, write_run
from kprune import EncoderAccess, count_parameters, encoder_shape

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_RUN = ROOT / "bench_results" / "m-56637f26026f" / "0002_4577d62_default.json"
BINARY = Head("classification", 2)  # Rotten Tomatoes: fresh / rotten


def _replay(run: Path, shape: str) -> ModelSpec:
    return ModelSpec("replay", name=shape, replay_run=str(run))


@pytest.mark.slow  # builds MiniLM-sized models
def test_every_point_of_the_committed_default_run_is_rebuilt_exactly() -> None:
    spec = _replay(DEFAULT_RUN, "minilm")
    base = load_model(spec, BINARY).model
    stored = read_run(DEFAULT_RUN).points
    assert len(stored) == 7
    for point in stored:
        model, record = replay_point(spec, base, point.method, point.target_flops_ratio)
        shape, access = encoder_shape(model), EncoderAccess(model)
        assert list(shape.heads_per_layer) == point.heads_per_layer
        assert list(shape.neurons_per_layer) == point.neurons_per_layer
        assert count_parameters(model) == point.params == record.params
        for layer, (heads, neurons) in enumerate(
            zip(point.heads_per_layer, point.neurons_per_layer, strict=True)
        ):
            assert access.attention_is_empty(layer) == (heads == 0)
            assert access.ffn_is_empty(layer) == (neurons == 0)
        assert record.metric_value == point.metric_value
        assert record.metric_source.startswith("replayed from 0002_4577d62_default.json")
        assert record.method_config["replayed_from"].startswith("0002_4577d62_default.json")
    empty = [p for p in stored if 0 in p.heads_per_layer]
    assert {p.target_flops_ratio for p in empty} == {0.3, 0.2}  # the run has empty sublayers


@pytest.mark.slow  # builds MiniLM-sized models
def test_a_run_replayed_on_another_shape_or_at_a_missing_point_is_refused() -> None:
    with pytest.raises(ReplayError, match="set model.name to the shape that run pruned"):
        load_model(_replay(DEFAULT_RUN, "tiny"), BINARY)
    spec = _replay(DEFAULT_RUN, "minilm")
    base = load_model(spec, BINARY).model
    with pytest.raises(ReplayError, match=r"no finished point kprune@0.45 .*kprune@0.5"):
        replay_point(spec, base, "kprune", 0.45)
    with pytest.raises(ReplayError, match="is not a file"):
        load_model(_replay(ROOT / "missing.json", "minilm"), BINARY)


def test_replay_settings_are_checked_with_the_config() -> None:
    with pytest.raises(ConfigError, match="needs model.replay_run"):
        ModelSpec("replay", name="minilm")
    with pytest.raises(ConfigError, match="needs model.replay_run"):
        ModelSpec("random-shape", name="minilm", replay_run="run.json")
    smoke = load_config("smoke")
    replay = ["model.source='replay'", "model.name='tiny'", "model.replay_run='r.json'"]
    with pytest.raises(ConfigError, match="set evaluate = false"):
        apply_overrides(smoke, replay)
    assert apply_overrides(smoke, [*replay, "evaluate=false"]).model.source == "replay"


def _tiny_point(method: str, ratio: float, heads: list[int], neurons: list[int]) -> PrunePoint:
    return PrunePoint(
        method=method,
        target_flops_ratio=ratio,
        achieved_flops_ratio=ratio,
        params=0,  # the caller counts them
        heads_per_layer=heads,
        neurons_per_layer=neurons,
        metric_name="accuracy",
        metric_value=0.9 if method == "dense" else 0.7,
    )


@pytest.mark.slow  # a whole (tiny) sweep
def test_a_replay_sweep_times_the_stored_structures_and_carries_their_metric(tmp_path) -> None:
    import dataclasses

    from harness.models.replay import replay_structure
    from harness.sweep.run import run_benchmark

    base = load_model(ModelSpec("random-shape", name="tiny"), BINARY).model
    points = [
        _tiny_point("dense", 1.0, [4, 4], [64, 64]),
        _tiny_point("kprune", 0.5, [2, 0], [30, 0]),  # an empty attention and an empty FFN
    ]
    points = [
        dataclasses.replace(p, params=count_parameters(replay_structure(base, p))) for p in points
    ]
    run = BenchmarkRun(config={"name": "tiny"}, environment={}, points=points)
    stored = write_run(run, tmp_path)
    overrides = [
        "model.source='replay'",
        "model.name='tiny'",
        f"model.replay_run='{stored}'",
        "evaluate=false",
        "flops_ratios=[1.0, 0.5]",
    ]
    config = apply_overrides(load_config("smoke"), overrides)
    run = run_benchmark(config, tmp_path / "results", progress=False)
    assert [m.error for m in run.measurements] == [None] * 4
    assert [(p.heads_per_layer, p.params) for p in run.points] == [
        (p.heads_per_layer, p.params) for p in points
    ]
    by_ratio = {m.target_flops_ratio: m for m in run.measurements if m.backend == "onnxruntime"}
    assert by_ratio[0.5].metric_value == 0.7 and by_ratio[1.0].metric_value == 0.9
    assert all(m.metric_source.startswith(f"replayed from {stored.name}") for m in run.measurements)
    assert by_ratio[0.5].speedup_vs_dense is not None
