"""Fine-tuning cache: a tiny model on a tiny task, manifest, reuse, atomicity and typed errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from harness.data.tasks import UnknownTaskError
from harness.models import finetune as finetune_module
from harness.models.cache import CacheCorruptError
from harness.models.finetune import FinetuneError, FinetuneSpec, default_cache_dir, finetune, preset
from tests.harness import task_fixtures as fx


@pytest.fixture
def tiny_spec(tmp_path: Path) -> FinetuneSpec:
    base = fx.write_tiny_checkpoint(tmp_path / "base")
    glue = fx.write_sst2(tmp_path / "glue")
    return FinetuneSpec(
        task="sst2",
        base=str(base),
        task_data_dir=str(glue),
        epochs=2,
        lr=1e-3,
        batch_size=4,
        max_length=16,
        freeze_word_embeddings=False,
    )


def _entries(cache_dir: Path) -> list[str]:
    models = cache_dir / "models"
    return sorted(p.name for p in models.iterdir()) if models.exists() else []


@pytest.mark.slow
def test_finetune_writes_model_and_manifest_then_reuses_it(
    tiny_spec: FinetuneSpec, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    first = finetune(tiny_spec, cache_dir, progress=False)
    assert not first.reused
    assert {"config.json", "model.safetensors", "manifest.json"} <= {
        p.name for p in first.path.iterdir()
    }
    manifest = json.loads((first.path / "manifest.json").read_text())
    assert manifest == first.manifest
    assert manifest["hyperparameters"]["lr"] == 1e-3
    assert len(manifest["source_weights_sha256"]) == len(manifest["data_sha256"]) == 64
    assert manifest["dev_metric"]["name"] == "accuracy"
    assert manifest["dev_metric"]["count"] == len(fx.SST2_DEV)
    assert manifest["steps"] == 2 * 2  # 8 examples / batch 4, two epochs
    assert manifest["train_s"] >= 0 and "torch" in manifest["library_versions"]
    second = finetune(tiny_spec, cache_dir, progress=False)
    assert second.reused and second.path == first.path
    assert _entries(cache_dir) == [first.path.name]  # no temp dirs left behind


@pytest.mark.slow
def test_same_seed_gives_identical_weights(tiny_spec: FinetuneSpec, tmp_path: Path) -> None:
    a = finetune(tiny_spec, tmp_path / "a", progress=False)
    b = finetune(tiny_spec, tmp_path / "b", progress=False)
    weights_a = load_file(a.path / "model.safetensors")
    weights_b = load_file(b.path / "model.safetensors")
    assert weights_a.keys() == weights_b.keys()
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
    assert a.path.name == b.path.name  # the cache key depends on content, not location


@pytest.mark.slow
def test_failure_midway_leaves_nothing_in_the_cache(
    tiny_spec: FinetuneSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_evaluate(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full while evaluating")

    monkeypatch.setattr(finetune_module, "evaluate", broken_evaluate)
    with pytest.raises(RuntimeError, match="disk full"):
        finetune(tiny_spec, tmp_path / "cache", progress=False)
    assert _entries(tmp_path / "cache") == []


def test_cache_key_changes_with_hyperparameters_only(tiny_spec: FinetuneSpec) -> None:
    moved = dataclasses.replace(tiny_spec, task_data_dir="/elsewhere", base="/other")
    assert moved.hyperparameters() == tiny_spec.hyperparameters()
    faster = dataclasses.replace(tiny_spec, lr=2e-3)
    assert faster.hyperparameters() != tiny_spec.hyperparameters()


def test_cache_entry_without_manifest_is_a_typed_error(
    tiny_spec: FinetuneSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(finetune_module.cache, "key_of", lambda content: "fixedkey")
    (tmp_path / "cache" / "models" / "sst2-base-fixedkey").mkdir(parents=True)
    with pytest.raises(CacheCorruptError, match="delete the folder"):
        finetune(tiny_spec, tmp_path / "cache", progress=False)


def test_base_that_is_not_a_checkpoint_is_rejected(tiny_spec: FinetuneSpec, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    spec = dataclasses.replace(tiny_spec, base=str(tmp_path / "empty"))
    with pytest.raises(FinetuneError, match="no config.json"):
        finetune(spec, tmp_path / "cache", progress=False)
    assert _entries(tmp_path / "cache") == []


def test_qa_tasks_cannot_be_fine_tuned_here(tiny_spec: FinetuneSpec, tmp_path: Path) -> None:
    squad_dir = fx.write_squad(tmp_path / "squad", "v1.1")
    spec = dataclasses.replace(tiny_spec, task="squad", task_data_dir=str(squad_dir))
    with pytest.raises(FinetuneError, match="squad"):
        finetune(spec, tmp_path / "cache", progress=False)


def test_presets_and_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert preset("rotten_tomatoes").task == "rotten_tomatoes"
    assert preset("reuters_r8").max_length > preset("rotten_tomatoes").max_length
    with pytest.raises(UnknownTaskError, match="presets"):
        preset("imdb")
    monkeypatch.setenv("KPRUNE_BENCH_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("KPRUNE_BENCH_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "kprune-bench"


def test_sweep_removes_only_temp_dirs_of_dead_processes(tmp_path: Path) -> None:
    dead = tmp_path / ".tmp-999999999-abc"
    alive = finetune_module.cache.make_temp_dir(tmp_path)
    dead.mkdir()
    (dead / "model.safetensors").write_bytes(b"half")
    assert finetune_module.cache.sweep_stale_temp_dirs(tmp_path) == [dead]
    assert alive.is_dir() and not dead.exists()


def test_atomic_dir_keeps_the_entry_a_parallel_run_published_first(tmp_path: Path) -> None:
    final = tmp_path / "entry"
    with finetune_module.cache.atomic_dir(final) as temp:
        (temp / "manifest.json").write_text('{"mine": true}', encoding="utf-8")
        final.mkdir()  # the other run finishes while this one is still writing
        (final / "manifest.json").write_text('{"theirs": true}', encoding="utf-8")
    assert json.loads((final / "manifest.json").read_text()) == {"theirs": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry"]
