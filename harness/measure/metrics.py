"""Task metrics as pure functions: accuracy, macro-F1, Pearson/Spearman, SQuAD EM/F1.

Every score is a fraction in [0, 1] (correlations in [-1, 1]); no models, files or devices here.
"""

from __future__ import annotations

import collections
import logging
import re
import string
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

ArrayLike = Sequence[float] | npt.NDArray[np.generic]


def _pair(predictions: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    pred, gold = np.asarray(predictions), np.asarray(labels)
    if pred.shape != gold.shape or pred.ndim != 1:
        raise ValueError(f"need two 1-D arrays of one length, got {pred.shape} and {gold.shape}")
    if pred.size == 0:
        raise ValueError("metrics need at least one example")
    return pred, gold


def accuracy(predictions: ArrayLike, labels: ArrayLike) -> float:
    """Fraction of predictions equal to the label."""
    pred, gold = _pair(predictions, labels)
    return float(np.mean(pred == gold))


def macro_f1(predictions: ArrayLike, labels: ArrayLike) -> float:
    """Unweighted mean of per-class F1 over the classes present in labels or predictions."""
    pred, gold = _pair(predictions, labels)
    scores = []
    for cls in np.union1d(pred, gold):
        true_pos = np.sum((pred == cls) & (gold == cls))
        denominator = np.sum(pred == cls) + np.sum(gold == cls)
        scores.append(2.0 * true_pos / denominator)
    return float(np.mean(scores))


def pearson(x: ArrayLike, y: ArrayLike) -> float:
    """Pearson correlation; NaN (with a warning in the log) when either input is constant."""
    a, b = (v.astype(np.float64) for v in _pair(x, y))
    a, b = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt(np.sum(a * a) * np.sum(b * b)))
    if denominator == 0.0:
        log.warning("correlation undefined for constant input; returning NaN")
        return float("nan")
    return float(np.sum(a * b) / denominator)


def average_ranks(values: ArrayLike) -> np.ndarray:
    """1-based ranks; tied values share the mean of the ranks they span."""
    data = np.asarray(values, dtype=np.float64)
    order = np.argsort(data, kind="stable")
    ranks = np.empty(data.size, dtype=np.float64)
    sorted_values = data[order]
    start = 0
    while start < data.size:
        stop = start
        while stop + 1 < data.size and sorted_values[stop + 1] == sorted_values[start]:
            stop += 1
        ranks[order[start : stop + 1]] = (start + stop) / 2.0 + 1.0
        start = stop + 1
    return ranks


def spearman(x: ArrayLike, y: ArrayLike) -> float:
    """Spearman rank correlation: Pearson of average ranks (ties handled)."""
    a, b = _pair(x, y)
    return pearson(average_ranks(a), average_ranks(b))


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lowercase, drop punctuation, drop a/an/the, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _golds(gold_answers: Sequence[str]) -> list[str]:
    # SQuAD v2: a question without answers has the empty string as its only gold answer.
    return list(gold_answers) if gold_answers else [""]


def exact_match(prediction: str, gold_answers: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals any normalised gold answer."""
    target = normalize_answer(prediction)
    return float(any(target == normalize_answer(gold) for gold in _golds(gold_answers)))


def _token_f1(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(pred_tokens), overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_f1(prediction: str, gold_answers: Sequence[str]) -> float:
    """Token-overlap F1 of the normalised strings, max over gold answers."""
    return max(_token_f1(prediction, gold) for gold in _golds(gold_answers))
