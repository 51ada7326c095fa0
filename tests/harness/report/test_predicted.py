"""The predicted speedup: spec §7 counted at the timed seq (equal to kprune's FLOPs model and to a
hand count), encoder widths from parameter counts, and the Amdahl fit."""

from __future__ import annotations

import random

import pytest

from harness.report.predicted import (
    EncoderDims,
    amdahl_fixed_share,
    amdahl_speedup,
    counted_flops,
    infer_dims,
    kept_ratio_at,
)
from harness.report.study import build_study
from harness.results.frame import points_frame
from harness.results.records import save_run
from tests.harness.report.study_runs import D_H, HAND_KEPT, SEQ, STRUCTURES, D, study_run

TINY = EncoderDims(D, D_H, "test")


def test_hand_count_on_a_tiny_structure():
    # F_head = 8·16·8·4 + 4·16²·4 = 8192; F_neuron = 4·16·8 = 512
    assert counted_flops([2, 1], [4, 0], 16, 8, 4) == 3 * 8192 + 4 * 512
    ratio = kept_ratio_at(STRUCTURES[0.7], STRUCTURES[1.0], SEQ, TINY)
    assert ratio == pytest.approx(26624 / 36864, rel=1e-12)
    # the s² attention term: the same structure keeps a different share at another seq
    assert kept_ratio_at(STRUCTURES[0.7], STRUCTURES[1.0], 512, TINY) != pytest.approx(ratio)


def test_equals_kprune_flops_model():
    from kprune import encoder_flops

    rng = random.Random(0)
    for _ in range(20):
        heads = [rng.randint(0, 12) for _ in range(6)]
        neurons = [rng.randint(0, 1536) for _ in range(6)]
        seq = rng.choice([27.3, 64, 128, 384])
        expected = encoder_flops(heads, neurons, seq, 384, 32)
        assert counted_flops(heads, neurons, seq, 384, 32) == pytest.approx(expected, rel=1e-12)


def test_widths_inferred_from_parameter_counts():
    frame = points_frame([(None, study_run("r"))])
    assert infer_dims(frame) == EncoderDims(D, D_H, "inferred from parameter counts")
    dense_only = frame[frame["method"].eq("dense")]
    assert infer_dims(dense_only) is None  # nothing removed: nothing to learn from
    wrong = frame.assign(params=frame["params"] + frame["method"].ne("dense").astype(int))
    assert infer_dims(wrong) is None  # no single head size explains the counts


def test_amdahl_fit_recovers_the_fixed_share():
    ratios = [0.8, 0.5, 0.2]
    speedups = [amdahl_speedup(0.15, r) for r in ratios]
    assert amdahl_fixed_share(ratios, speedups) == pytest.approx(0.15, abs=1e-12)
    assert amdahl_fixed_share([1.0], [1.0]) is None


def test_study_rows_carry_the_hand_counted_prediction(tmp_path):
    save_run(study_run("r", share=0.2), tmp_path / "0001_abc_r.json")
    rows = build_study([tmp_path]).rows
    pruned = rows[rows["method"].ne("dense")]
    for row in pruned.itertuples():
        hand = HAND_KEPT[row.target_flops_ratio]
        assert row.predicted_speedup == pytest.approx(1 / hand, rel=1e-12)
        assert row.amdahl_fixed_share == pytest.approx(0.2, abs=1e-9)
        assert row.efficiency == pytest.approx(row.speedup_vs_dense * hand, rel=1e-12)
