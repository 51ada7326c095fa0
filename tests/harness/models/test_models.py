"""Model loading from every ModelSpec source, without a hub, and the architecture check."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import (
    BertForQuestionAnswering,
    BertForSequenceClassification,
    GPT2Config,
    GPT2ForSequenceClassification,
)

from harness.config.schema import ModelSpec
from harness.data.tasks import LabelMismatchError
from harness.models import load as models
from harness.models.finetune import FinetunedModel, FinetuneSpec
from harness.models.load import Head, ModelLoadError, load_model
from kprune import UnsupportedModelError
from tests.harness import task_fixtures as fx


def test_tiny_random_is_seeded_small_and_in_eval_mode() -> None:
    a = load_model(ModelSpec("tiny-random", seed=1))
    b = load_model(ModelSpec("tiny-random", seed=1))
    config = a.model.config
    assert (config.num_hidden_layers, config.num_attention_heads) == (2, 4)
    assert (config.hidden_size, config.intermediate_size, config.vocab_size) == (32, 64, 128)
    assert not a.model.training
    assert a.tokenizer is None
    assert "RANDOM" in a.description
    for (name, p), (_, q) in zip(
        a.model.named_parameters(), b.model.named_parameters(), strict=True
    ):
        assert torch.equal(p, q), name


def test_random_seed_does_not_disturb_the_callers_rng() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    load_model(ModelSpec("tiny-random", seed=7))
    assert torch.equal(torch.rand(3), expected)


def test_random_shape_minilm_for_qa_is_labelled_random() -> None:
    loaded = load_model(ModelSpec("random-shape", name="minilm"), Head(kind="qa"))
    config = loaded.model.config
    assert isinstance(loaded.model, BertForQuestionAnswering)
    layers, hidden, heads, ffn = 6, 384, 12, 1536
    assert (config.num_hidden_layers, config.hidden_size) == (layers, hidden)
    assert (config.num_attention_heads, config.intermediate_size) == (heads, ffn)
    assert "RANDOM" in loaded.description and "minilm" in loaded.description


def test_bert_base_shape_is_registered() -> None:
    assert models.RANDOM_SHAPES["bert-base"] == (12, 768, 12, 3072, 30522)


def test_unknown_random_shape_is_a_typed_error() -> None:
    with pytest.raises(ModelLoadError, match="bert-huge"):
        load_model(ModelSpec("random-shape", name="bert-huge"))


def test_local_checkpoint_with_head_and_tokenizer(tmp_path: Path) -> None:
    folder = fx.write_tiny_checkpoint(tmp_path / "ckpt", head=True, num_labels=3)
    loaded = load_model(ModelSpec("local", path=str(folder)), Head(num_labels=3))
    assert isinstance(loaded.model, BertForSequenceClassification)
    assert loaded.model.config.num_labels == 3
    assert loaded.tokenizer is not None
    assert loaded.tokenizer("good movie")["input_ids"][0] == loaded.tokenizer.cls_token_id


def test_local_encoder_only_checkpoint_gets_the_head_of_the_task_kind(tmp_path: Path) -> None:
    folder = fx.write_tiny_checkpoint(tmp_path / "enc")
    qa = load_model(ModelSpec("local", path=str(folder)), Head(kind="qa"))
    assert isinstance(qa.model, BertForQuestionAnswering)
    cls = load_model(ModelSpec("local", path=str(folder)), Head(num_labels=5))
    assert cls.model.config.num_labels == 5


def test_local_head_with_other_label_count_is_a_mismatch(tmp_path: Path) -> None:
    folder = fx.write_tiny_checkpoint(tmp_path / "ckpt", head=True, num_labels=2)
    with pytest.raises(LabelMismatchError, match="2-output head but 3 labels"):
        load_model(ModelSpec("local", path=str(folder)), Head(num_labels=3))


def test_missing_or_non_checkpoint_directories_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(ModelSpec("local", path=str(tmp_path / "nowhere")))
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("not a model", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="no config.json"):
        load_model(ModelSpec("local", path=str(tmp_path / "notes")))


def test_checkpoint_of_an_unsupported_architecture(tmp_path: Path) -> None:
    config = GPT2Config(vocab_size=128, n_positions=32, n_embd=16, n_layer=1, n_head=2)
    GPT2ForSequenceClassification(config).save_pretrained(tmp_path / "gpt2")
    with pytest.raises(UnsupportedModelError, match="not supported"):
        load_model(ModelSpec("local", path=str(tmp_path / "gpt2")))


def test_hub_id_without_a_reachable_hub_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="hub reachable"):
        load_model(ModelSpec("hub", name="kprune-bench-tests/no-such-model"))


def test_finetuned_source_loads_the_cached_preset_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = fx.write_tiny_checkpoint(tmp_path / "ft", head=True, num_labels=2)
    manifest = {"base": "minilm", "dev_metric": {"name": "accuracy", "value": 0.5}}
    calls: list[str] = []

    def fake_finetune(spec: FinetuneSpec, cache_dir: object, progress: bool) -> FinetunedModel:
        calls.append(spec.task)
        return FinetunedModel(folder, manifest, reused=True)

    monkeypatch.setattr(models, "finetune", fake_finetune)
    loaded = load_model(ModelSpec("finetuned", name="rotten_tomatoes"))
    assert calls == ["rotten_tomatoes"]
    assert "accuracy 0.5000" in loaded.description
    assert isinstance(loaded.model, BertForSequenceClassification)


def test_classification_checkpoint_for_a_qa_task_is_a_mismatch(tmp_path: Path) -> None:
    folder = fx.write_tiny_checkpoint(tmp_path / "ckpt", head=True, num_labels=2)
    with pytest.raises(LabelMismatchError, match="sequence head but the task is qa"):
        load_model(ModelSpec("local", path=str(folder)), Head(kind="qa"))
