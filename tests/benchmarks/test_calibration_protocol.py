"""The calibration-protocol benchmark's table: mean and sample spread per setting, seeds counted."""

from __future__ import annotations

import pytest

from benchmarks.calibration_protocol import main, table


def _run(order: str, seed: int, accuracy: float, method: str = "kprune") -> dict[str, object]:
    return {
        "method": method,
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
    # method, tokens, order, replacement, ratio, mean, std, seeds, prune_s, padded share
    assert cells[0] == "kprune"
    assert cells[5:9] == ["0.81", "0.0141", "2", "10.5"]
    sorted_row = next(line for line in lines if "| sorted |" in line)
    assert "| - |" in sorted_row  # one seed: no spread, shown as missing


def test_methods_get_their_own_rows_and_old_files_read_as_kprune() -> None:
    runs = [_run("random", 0, 0.80), _run("random", 0, 0.60, method="kprune-sampled")]
    lines = table(runs).splitlines()
    assert len(lines) == 4
    assert any(line.startswith("| kprune-sampled |") and "| 0.6 |" in line for line in lines)
    old = [{k: v for k, v in _run("random", 0, 0.80).items() if k != "method"}]
    assert table(old).splitlines()[2].startswith("| kprune |")


def test_an_unknown_method_exits_2_naming_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--methods", "kprune", "no-such-method"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "no-such-method" in err and "kprune-sampled" in err
