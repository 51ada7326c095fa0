"""Calibration sampler: seeded draws (with or without replacement), token budget, keys, dtypes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import torch

from harness.config.schema import CalibrationSpec, TaskSpec
from harness.data.calibration import sample_calibration_batches
from harness.data.tasks import EmptySplitError, TaskData, TextExample, load_task
from harness.errors import ConfigError
from tests.harness import task_fixtures as fx


def _sample(
    task: Any, tokenizer: Any, max_length: int = 128, include_labels: bool = True, **fields: Any
) -> list[dict[str, torch.Tensor]]:
    spec = CalibrationSpec(**fields)
    return sample_calibration_batches(
        task, tokenizer, spec, max_length=max_length, include_labels=include_labels
    )


@pytest.fixture
def tokenizer(tmp_path: Path) -> Any:
    return fx.tiny_tokenizer(tmp_path / "tok")


def _task(count: int = 40, kind: str = "classification") -> TaskData:
    words = fx.WORDS[:30]
    # distinct texts of varying length, so rows are distinguishable and padding shows
    train = tuple(
        TextExample(" ".join(words[i % 30 : i % 30 + 1 + i % 5] + [words[i // 30]]), float(i))
        if kind == "regression"
        else TextExample(" ".join(words[i % 30 : i % 30 + 1 + i % 5] + [words[i // 30]]), i % 2)
        for i in range(count)
    )
    names = () if kind == "regression" else ("neg", "pos")
    return TaskData("toy", kind, names, train, train[:2])  # type: ignore[arg-type]


def _real_tokens(batches: list[dict[str, torch.Tensor]]) -> int:
    return int(sum(int(b["attention_mask"].sum()) for b in batches))


def _rows(batches: list[dict[str, torch.Tensor]]) -> list[tuple[int, ...]]:
    rows = []
    for batch in batches:
        for ids, mask in zip(batch["input_ids"], batch["attention_mask"], strict=True):
            rows.append(tuple(ids[mask.bool()].tolist()))
    return rows


def test_same_seed_same_batches_other_seed_other_order(tokenizer: Any) -> None:
    task = _task()
    first = _sample(task, tokenizer, num_tokens=60, batch_size=4, seed=3)
    again = _sample(task, tokenizer, num_tokens=60, batch_size=4, seed=3)
    other = _sample(task, tokenizer, num_tokens=60, batch_size=4, seed=4)
    assert len(first) == len(again)
    for a, b in zip(first, again, strict=True):
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert _rows(first) != _rows(other)


def test_token_budget_is_reached_with_the_fewest_examples(tokenizer: Any) -> None:
    batches = _sample(_task(), tokenizer, num_tokens=50, batch_size=4, sort_by_length=False)
    rows = _rows(batches)
    assert _real_tokens(batches) >= 50
    assert _real_tokens(batches) - len(rows[-1]) < 50  # one row fewer would miss the budget


def test_length_sorting_keeps_the_rows_and_cuts_padding(tokenizer: Any) -> None:
    task = _task(count=40)
    plain = _sample(task, tokenizer, num_tokens=150, batch_size=4)
    grouped = _sample(task, tokenizer, num_tokens=150, batch_size=4, sort_by_length=True)
    assert sorted(_rows(plain)) == sorted(_rows(grouped))
    padded = [sum(b["attention_mask"].numel() for b in bs) for bs in (plain, grouped)]
    assert padded[1] < padded[0]


def test_a_permutation_draw_takes_every_row_once(tokenizer: Any) -> None:
    task = _task(count=40)
    batches = _sample(task, tokenizer, num_tokens=10_000, batch_size=8, replacement=False)
    rows = _rows(batches)
    assert len(rows) == 40
    assert len(set(rows)) == 40


def test_draws_are_capped_at_the_train_size_like_the_official_code(tokenizer: Any) -> None:
    rows = _rows(_sample(_task(count=40), tokenizer, num_tokens=10_000, batch_size=8))
    assert len(rows) == 40 and len(set(rows)) < 40  # 40 draws with replacement repeat rows


def test_the_defaults_are_the_official_draw() -> None:
    # random order with replacement (np.random.choice in the official code); see CalibrationSpec
    spec = CalibrationSpec()
    assert (spec.replacement, spec.sort_by_length, spec.batch_size) == (True, False, 32)


def test_budget_beyond_the_train_split_uses_all_and_warns(
    tokenizer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="harness.data.calibration"):
        batches = _sample(_task(count=5), tokenizer, num_tokens=10_000, replacement=False)
    assert len(_rows(batches)) == 5
    assert "fewer than the 10000 requested" in caplog.text


def test_batches_have_model_keys_dynamic_padding_and_labels(tokenizer: Any) -> None:
    batches = _sample(_task(), tokenizer, num_tokens=80, batch_size=4)
    for batch in batches:
        assert set(batch) == {"input_ids", "attention_mask", "token_type_ids", "labels"}
        assert batch["input_ids"].dtype == torch.int64
        assert batch["labels"].dtype == torch.int64
        assert batch["input_ids"].shape == batch["attention_mask"].shape
        assert batch["attention_mask"][:, -1].any()  # padded only to the longest row
        assert batch["labels"].shape == (batch["input_ids"].shape[0],)
    assert all(b["input_ids"].shape[0] == 4 for b in batches[:-1])


def test_regression_labels_are_float_and_labels_can_be_left_out(tokenizer: Any) -> None:
    task = _task(kind="regression")
    (batch,) = _sample(task, tokenizer, num_tokens=5, batch_size=8)
    assert batch["labels"].dtype == torch.float32
    (bare,) = _sample(task, tokenizer, num_tokens=5, batch_size=8, include_labels=False)
    assert "labels" not in bare


def test_max_length_truncates(tokenizer: Any) -> None:
    batches = _sample(_task(), tokenizer, num_tokens=100, max_length=4)
    assert max(b["input_ids"].shape[1] for b in batches) <= 4


def test_qa_batches_carry_answer_token_positions(tokenizer: Any, tmp_path: Path) -> None:
    task = load_task(TaskSpec("squad_v2", data_dir=str(fx.write_squad(tmp_path / "sq"))))
    (batch,) = _sample(task, tokenizer, num_tokens=10_000, batch_size=8, replacement=False)
    assert {"start_positions", "end_positions"} <= set(batch)
    spans = [
        tokenizer.decode(ids[int(start) : int(end) + 1])
        for ids, start, end in zip(
            batch["input_ids"], batch["start_positions"], batch["end_positions"], strict=True
        )
    ]
    assert sorted(spans) == ["[CLS]", "paris", "seine"]  # unanswerable -> [CLS] (position 0)


@pytest.mark.parametrize(("num_tokens", "batch_size"), [(0, 4), (-5, 4), (10, 0)])
def test_non_positive_sizes_are_rejected(tokenizer: Any, num_tokens: int, batch_size: int) -> None:
    with pytest.raises(ConfigError, match="calibration"):
        _sample(_task(), tokenizer, num_tokens=num_tokens, batch_size=batch_size)


def test_empty_train_split_is_rejected(tokenizer: Any) -> None:
    empty = TaskData("toy", "classification", ("a", "b"), (), (TextExample("x", 0),))
    with pytest.raises(EmptySplitError, match="no train examples"):
        _sample(empty, tokenizer)


def test_with_replacement_the_budget_holds_and_the_draw_is_seeded(tokenizer: Any) -> None:
    # 8 rows drawn independently 3x over: a repeat is certain, and the draw runs past the split
    task = _task(count=40)
    drawn = _sample(task, tokenizer, num_tokens=150, batch_size=4, replacement=True, seed=1)
    rows = _rows(drawn)
    assert _real_tokens(drawn) >= 150
    again = _sample(task, tokenizer, num_tokens=150, batch_size=4, replacement=True, seed=1)
    assert _rows(again) == rows


def test_without_replacement_every_row_at_most_once(tokenizer: Any) -> None:
    rows = _rows(
        _sample(_task(), tokenizer, num_tokens=100, batch_size=4, seed=2, replacement=False)
    )
    assert len(rows) == len(set(rows))
