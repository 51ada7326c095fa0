"""Perplexity is better when lower: the Pareto frontier of a decoder run keeps the fast points
with the LOWEST perplexity, and the axis says which way is better."""

from __future__ import annotations

import pandas as pd

from harness.report.timing_figures import metric_label, pareto_rows


def _rows(name: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "latency_median_ms": [10.0, 8.0, 6.0, 7.0],
            "metric_value": [20.0, 22.0, 30.0, 25.0],
            "metric_name": [name] * 4,
        }
    )


def test_the_frontier_of_a_lower_is_better_metric_keeps_the_lowest_values():
    front = pareto_rows(_rows("perplexity"))
    # 6 ms at 30 ppl, 7 ms at 25, 8 ms at 22, 10 ms at 20: each faster point is worse
    assert front["latency_median_ms"].tolist() == [6.0, 7.0, 8.0, 10.0]
    assert metric_label(_rows("perplexity")) == "perplexity (lower is better)"


def test_the_frontier_of_accuracy_keeps_the_highest_values():
    front = pareto_rows(_rows("accuracy"))
    assert front["latency_median_ms"].tolist() == [6.0]  # fastest and most accurate
    assert metric_label(_rows("accuracy")) == "accuracy"
