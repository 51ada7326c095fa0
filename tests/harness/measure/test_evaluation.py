"""Evaluation through the Predictor seam: metrics from fake predictors, a torch model, QA spans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from harness.config.schema import ModelSpec, TaskSpec
from harness.data.qa_encoding import TokenizerNotFastError, build_qa_features
from harness.data.tasks import (
    EmptySplitError,
    LabelMismatchError,
    QAExample,
    TaskData,
    TextExample,
    load_task,
)
from harness.measure.evaluation import evaluate
from harness.models.load import Head, load_model
from harness.runtimes.torch_runtime import torch_predictor
from tests.harness import task_fixtures as fx


@pytest.fixture
def tokenizer(tmp_path: Path) -> Any:
    return fx.tiny_tokenizer(tmp_path / "tok")


def _keyword_predictor(tokenizer: Any, positive: str, classes: int = 2) -> Any:
    """Class 1 when the first word is `positive`, else class 0."""
    positive_id = tokenizer.convert_tokens_to_ids(positive)

    def predict(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        assert inputs["input_ids"].dtype == np.int64
        hit = (inputs["input_ids"][:, 1] == positive_id).astype(np.float32)
        logits = np.zeros((len(hit), classes), dtype=np.float32)
        logits[:, 1] = hit
        return {"logits": logits}

    return predict


def _toy(dev: list[tuple[str, int]]) -> TaskData:
    examples = tuple(TextExample(text, label) for text, label in dev)
    return TaskData("toy", "classification", ("neg", "pos"), examples, examples)


def test_accuracy_and_macro_f1_from_a_predictor(tokenizer: Any) -> None:
    # predictions 1, 0, 0, 0 vs labels 1, 0, 1, 0 -> accuracy 3/4
    data = _toy([("good film", 1), ("bad film", 0), ("great film", 1), ("awful film", 0)])
    result = evaluate(
        _keyword_predictor(tokenizer, "good"), data, tokenizer, batch_size=3, max_length=32
    )
    assert (result.name, result.count) == ("accuracy", 4)
    assert result.value == 0.75
    # class 0: tp 2, 3 predicted, 2 gold -> 0.8; class 1: tp 1, 1 predicted, 2 gold -> 2/3
    assert result.extras["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)


def test_scores_go_back_to_dev_order_when_batched_by_length(tokenizer: Any) -> None:
    # lengths differ and are not sorted in dev order: a score given to the wrong example would
    # change the accuracy (only the long "good ..." rows are positive, and only they are right)
    long = "good film film film film film"
    dev = [("bad film", 0), (long, 1), ("awful", 0), (long, 1), ("good", 0), ("bad", 0)]
    result = evaluate(
        _keyword_predictor(tokenizer, "good"), _toy(dev), tokenizer, batch_size=2, max_length=32
    )
    assert result.value == pytest.approx(5 / 6)  # all right but "good" (labelled 0)


def test_head_size_mismatch_names_both_numbers(tokenizer: Any) -> None:
    data = _toy([("good film", 1), ("bad film", 0)])
    with pytest.raises(LabelMismatchError, match=r"3 outputs.*2 labels"):
        evaluate(
            _keyword_predictor(tokenizer, "good", classes=3),
            data,
            tokenizer,
            batch_size=4,
            max_length=32,
        )


def test_regression_reports_spearman_and_pearson(tokenizer: Any) -> None:
    dev = tuple(
        TextExample(text, score) for text, score in [("a", 1.0), ("a a", 2.0), ("a a a", 3.5)]
    )
    data = TaskData("sts", "regression", (), dev, dev)

    def length_predictor(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"logits": inputs["attention_mask"].sum(axis=1, keepdims=True).astype(np.float32)}

    result = evaluate(length_predictor, data, tokenizer, batch_size=4, max_length=32)
    assert result.name == "spearman"
    assert result.value == pytest.approx(1.0)
    assert 0.9 < result.extras["pearson"] < 1.0


def _answer_predictor(tokenizer: Any) -> Any:
    """Right answers for q2 (seine) and q3 (null); for q1 the span "paris is the capital"."""
    words = ("paris", "seine", "profit", "capital")
    ids = {word: tokenizer.convert_tokens_to_ids(word) for word in words}

    def first(input_ids: np.ndarray, types: np.ndarray, word: str) -> int:
        """Index of `word` in this window's context; 0 ([CLS], null) when the window lacks it."""
        hits = np.flatnonzero((input_ids == ids[word]) & (types == 1))
        return int(hits[0]) if hits.size else 0

    def predict(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        input_ids, types = inputs["input_ids"], inputs["token_type_ids"]
        start = np.zeros(input_ids.shape, dtype=np.float32)
        end = np.zeros(input_ids.shape, dtype=np.float32)
        for row, (row_ids, row_types) in enumerate(zip(input_ids, types, strict=True)):
            question = set(row_ids[row_types == 0].tolist())
            first_word, last_word = "seine", "seine"
            if ids["profit"] in question:
                first_word, last_word = "profit", "profit"  # not in the context: null answer
            elif ids["capital"] in question:
                first_word, last_word = "paris", "capital"
            start[row, first(row_ids, row_types, first_word)] = 5.0
            end[row, first(row_ids, row_types, last_word)] = 5.0
        return {"start_logits": start, "end_logits": end}

    return predict


def test_squad_v2_exact_match_and_f1(tokenizer: Any, tmp_path: Path) -> None:
    data = load_task(TaskSpec("squad_v2", data_dir=str(fx.write_squad(tmp_path / "sq"))))
    result = evaluate(_answer_predictor(tokenizer), data, tokenizer, max_length=32, batch_size=4)
    # q1 "paris is the capital" vs "paris": F1 = 2 * (1/3 * 1) / (1/3 + 1) = 0.5, EM 0
    assert (result.name, result.count) == ("f1", 3)
    assert result.value == pytest.approx((0.5 + 1 + 1) / 3)
    assert result.extras["exact_match"] == pytest.approx(2 / 3)


def test_long_context_windows_still_find_the_answer(tokenizer: Any, tmp_path: Path) -> None:
    data = load_task(TaskSpec("squad_v2", data_dir=str(fx.write_squad(tmp_path / "sq"))))
    # 16 tokens leave room for only part of the context: several windows per question
    result = evaluate(_answer_predictor(tokenizer), data, tokenizer, max_length=16, batch_size=4)
    assert result.extras["exact_match"] == pytest.approx(2 / 3)


def test_classification_predictor_on_a_qa_task_is_a_mismatch(
    tokenizer: Any, tmp_path: Path
) -> None:
    data = load_task(TaskSpec("squad", data_dir=str(fx.write_squad(tmp_path / "sq", "v1.1"))))
    with pytest.raises(LabelMismatchError, match="start_logits"):
        evaluate(
            _keyword_predictor(tokenizer, "good"), data, tokenizer, batch_size=4, max_length=32
        )


def test_torch_predictor_on_a_tiny_random_model(tokenizer: Any, tmp_path: Path) -> None:
    model = load_model(ModelSpec("tiny-random"), Head(num_labels=2)).model
    data = load_task(TaskSpec("sst2", data_dir=str(fx.write_sst2(tmp_path / "glue"))))
    predictor = torch_predictor(model)
    batch = {"input_ids": np.array([[2, 5, 3]]), "attention_mask": np.ones((1, 3), dtype=np.int64)}
    logits = predictor(batch)["logits"]
    with torch.inference_mode():
        expected = model(input_ids=torch.tensor([[2, 5, 3]])).logits.numpy()
    np.testing.assert_allclose(logits, expected, rtol=1e-6)
    result = evaluate(predictor, data, tokenizer, batch_size=2, max_length=32)
    assert result.count == len(fx.SST2_DEV)
    assert 0.0 <= result.value <= 1.0


def test_empty_dev_split_is_rejected(tokenizer: Any) -> None:
    data = TaskData("toy", "classification", ("a", "b"), (TextExample("x", 0),), ())
    with pytest.raises(EmptySplitError, match="dev split is empty"):
        evaluate(
            _keyword_predictor(tokenizer, "good"), data, tokenizer, batch_size=4, max_length=32
        )


def test_qa_needs_a_fast_tokenizer() -> None:
    example = QAExample("q", "what ?", "paris", ("paris",), (0,))
    with pytest.raises(TokenizerNotFastError, match="fast tokenizer"):
        build_qa_features(object(), [example], max_length=16, doc_stride=4)
