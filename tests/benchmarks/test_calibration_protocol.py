"""The calibration-protocol benchmark's table: mean and sample spread per setting, seeds counted."""

from __future__ import annotations

from benchmarks.calibration_protocol import table


def _run(order: str, seed: int, accuracy: float) -> dict[str, object]:
    return {
        "tokens": 4096,
        "order": order,
        "replacement": "yes",
        "target_flops_ratio": 0.5,
        "seed": seed,
        "accuracy": accuracy,
        "prune_s": 10.0 + seed,
        "padded_share": 0.5,
    }


def test_one_row_per_setting_with_mean_and_sample_std() -> None:
    runs = [_run("random", 0, 0.80), _run("random", 1, 0.82), _run("sorted", 0, 0.70)]
    lines = table(runs).splitlines()
    assert len(lines) == 4  # header, rule, two settings
    random_row = next(line for line in lines if "| random |" in line)
    cells = [cell.strip() for cell in random_row.strip("|").split("|")]
    # tokens, order, replacement, ratio, mean, std, seeds, prune_s, padded share
    assert cells[4:8] == ["0.81", "0.0141", "2", "10.5"]
    sorted_row = next(line for line in lines if "| sorted |" in line)
    assert "| - |" in sorted_row  # one seed: no spread, shown as missing
