"""benchmarks.prune_speed's official loop: arguments checked up front (exit 2), the inputs written
where benchmarks/official_code.py reads them, its JSON line read back as masks, and a failing
official run reported with its stderr. A stand-in for the official code's src/ folder (same
function signatures) keeps this offline; the real comparison is the benchmark itself."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import torch

from benchmarks.prune_speed import (
    OfficialCodeError,
    _run_official,
    _write_official_inputs,
    main,
)
from tests.conftest import make_batches, tiny_model

FAKE_PRUNE = """
def kprune(model, dataloader, is_squad, head_dim, lam_pred, lam_rep, mu, T, model_flops,
           f_head, f_neuron, head_masks, neuron_masks, constraint, tuning, logger):
    config = model.config
    assert not is_squad and tuning and head_dim == config.hidden_size // config.num_attention_heads
    assert abs(constraint - {removed}) < 1e-9 and len(dataloader) == {batches}
    head_masks[0, 0] = 0
    neuron_masks[1, :3] = 0
    {fail}
    return model, head_masks, neuron_masks
"""
FAKE_CAPACITY = """
def flops_per_head(seq_len, head_dim, embed_dim):
    return 8 * seq_len * head_dim * embed_dim
def flops_per_neuron(seq_len, embed_dim):
    return 4 * seq_len * embed_dim
def get_flops(heads, neurons, seq_len, head_dim, embed_dim):
    return sum(h * flops_per_head(seq_len, head_dim, embed_dim)
               + n * flops_per_neuron(seq_len, embed_dim) for h, n in zip(heads, neurons))
"""


def _fake_src(root: Path, removed: float, batches: int, fail: bool = False) -> Path:
    src = root / "src"
    (src / "utils").mkdir(parents=True)
    failing = 'raise RuntimeError("official run broke")' if fail else "pass"
    body = FAKE_PRUNE.format(removed=removed, batches=batches, fail=failing)
    (src / "prune.py").write_text(textwrap.dedent(body))
    (src / "utils" / "capacity.py").write_text(FAKE_CAPACITY)
    return src


def test_the_official_run_reads_the_written_inputs_and_returns_its_masks(tmp_path: Path) -> None:
    model, batches = tiny_model("bert", layers=2), make_batches(2)
    data = tmp_path / "data"
    data.mkdir()
    _write_official_inputs(data, model, batches)
    src = _fake_src(tmp_path, removed=0.6, batches=2)
    run = _run_official(sys.executable, str(src), data, 0.4, threads=1)
    head_keep, neuron_keep = run["_masks"]
    assert head_keep.shape == (2, model.config.num_attention_heads)
    assert neuron_keep.shape == (2, model.config.intermediate_size)
    assert not bool(head_keep[0, 0]) and int((~head_keep).sum()) == 1
    assert int((~neuron_keep).sum()) == 3 and not bool(neuron_keep[1, :3].any())
    assert run["heads_kept"] == head_keep.numel() - 1 and run["wall_s"] >= 0
    assert run["versions"]["torch"] == torch.__version__


def test_a_failing_official_run_is_reported_with_its_stderr(tmp_path: Path) -> None:
    model, batches = tiny_model("bert", layers=2), make_batches(1)
    data = tmp_path / "data"
    data.mkdir()
    _write_official_inputs(data, model, batches)
    src = _fake_src(tmp_path, removed=0.5, batches=1, fail=True)
    with pytest.raises(OfficialCodeError, match="official run broke"):
        _run_official(sys.executable, str(src), data, 0.5, threads=1)


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ([], "needs --official-python and --official-src"),
        (["--official-python", "/no/such/python", "--official-src", "."], "no such file"),
        (["--official-python", sys.executable, "--official-src", "."], "not the src/ folder"),
    ],
)
def test_the_official_loop_without_its_environment_exits_2(
    extra: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--loops", "fast", "official", *extra])
    assert stop.value.code == 2
    assert says in capsys.readouterr().err
