"""Metric values on hand-computed examples, including SQuAD normalisation and v2 empty answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.measure import metrics


def test_accuracy() -> None:
    assert metrics.accuracy([0, 1, 1, 0], [0, 1, 0, 0]) == 0.75


def test_macro_f1_by_hand() -> None:
    # class 0: tp 1, 2 predicted, 1 gold -> 2/3; class 1: tp 2, 2 predicted, 3 gold -> 4/5;
    # class 2: tp 1, 1 predicted, 1 gold -> 1
    value = metrics.macro_f1([0, 0, 1, 1, 2], [0, 1, 1, 1, 2])
    assert value == pytest.approx((2 / 3 + 4 / 5 + 1) / 3)


def test_macro_f1_counts_a_class_that_is_only_predicted() -> None:
    # class 1 is never gold but predicted once: its F1 is 0 and it enters the mean
    assert metrics.macro_f1([0, 1], [0, 0]) == pytest.approx((2 / 3 + 0) / 2)


def test_pearson_by_hand() -> None:
    assert metrics.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert metrics.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # deviations (-1.5,-.5,.5,1.5) and (-1.5,.5,-.5,1.5): 4 / sqrt(5 * 5)
    assert metrics.pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)


def test_average_ranks_share_ties() -> None:
    assert metrics.average_ranks([10, 20, 20, 30]).tolist() == [1.0, 2.5, 2.5, 4.0]
    assert metrics.average_ranks([3, 1, 2]).tolist() == [3.0, 1.0, 2.0]


def test_spearman_with_ties_by_hand() -> None:
    # ranks (1, 2.5, 2.5, 4) vs (1, 2, 3, 4): 4.5 / sqrt(4.5 * 5)
    assert metrics.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / math.sqrt(22.5))
    assert metrics.spearman([1, 10, 100], [0.1, 0.2, 0.3]) == pytest.approx(1.0)


def test_correlation_of_constant_input_is_nan() -> None:
    assert math.isnan(metrics.spearman([1, 1, 1], [1, 2, 3]))


def test_metric_inputs_must_align() -> None:
    with pytest.raises(ValueError, match="1-D"):
        metrics.accuracy([1, 2], [1])
    with pytest.raises(ValueError, match="at least one"):
        metrics.accuracy(np.array([]), np.array([]))


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("The  Quick, brown fox!", "quick brown fox"),
        ("An apple a day", "apple day"),
        ("theory of the atom", "theory of atom"),
        ("  U.S.A.  ", "usa"),
        ("", ""),
    ],
)
def test_squad_normalisation(raw: str, normalised: str) -> None:
    assert metrics.normalize_answer(raw) == normalised


def test_exact_match_takes_the_best_gold_answer() -> None:
    assert metrics.exact_match("the Eiffel Tower.", ["Eiffel tower", "tower"]) == 1.0
    assert metrics.exact_match("Eiffel", ["Eiffel tower"]) == 0.0


def test_squad_f1_by_hand() -> None:
    # prediction tokens {in, paris, france}, gold {paris}: precision 1/3, recall 1 -> 0.5
    assert metrics.squad_f1("in Paris, France", ["Paris"]) == pytest.approx(0.5)
    # max over golds: second gold matches exactly
    assert metrics.squad_f1("in Paris, France", ["Paris", "Paris France in"]) == 1.0
    assert metrics.squad_f1("london", ["paris"]) == 0.0


def test_squad_v2_unanswerable_question_scores() -> None:
    assert metrics.exact_match("", []) == 1.0
    assert metrics.squad_f1("", []) == 1.0
    assert metrics.squad_f1("paris", []) == 0.0
    assert metrics.squad_f1("", ["paris"]) == 0.0
