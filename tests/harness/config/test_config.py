"""BenchmarkConfig: presets as data, typed `--set` overrides, validation naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.load import (
    apply_overrides,
    config_from_dict,
    config_to_dict,
    load_config,
    preset_names,
)
from harness.config.methods import method_config
from harness.config.schema import BenchmarkConfig
from harness.errors import ConfigError
from kprune import KpruneConfig


def test_the_four_presets_exist_and_load():
    assert {"default", "smoke", "bert-base-shape", "gpu"} <= set(preset_names())
    for name in preset_names():
        assert isinstance(load_config(name), BenchmarkConfig)


def test_default_preset_is_rotten_tomatoes_minilm_on_cpu():
    config = load_config("default")
    assert config.flops_ratios == (1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2)
    assert config.task.name == "rotten_tomatoes" and config.model.source == "finetuned"
    assert {(r.backend, r.device) for r in config.runtimes} == {
        ("torch", "cpu"),
        ("onnxruntime", "cpu"),
    }
    assert config.batch_sizes == (1, 8) and config.seq_lens == (128,)


def test_random_weight_preset_says_so_and_skips_accuracy():
    config = load_config("bert-base-shape")
    assert "random" in config.name.lower() and "RANDOM" in config.description
    assert config.evaluate is False and config.model.source == "random-shape"


def test_gpu_preset_covers_the_cuda_runtimes():
    config = load_config("gpu")
    names = {r.name for r in config.runtimes}
    assert {"torch-cuda-float16-eager", "torch-cuda-float32-cuda_graph"} <= names
    assert {"onnxruntime-cuda-float32-iobinding", "onnxruntime-cuda-float16-iobinding"} <= names
    assert config.batch_sizes == (1, 8, 32, 128)


def test_presets_round_trip_through_plain_data():
    for name in preset_names():
        config = load_config(name)
        assert config_from_dict(config_to_dict(config)) == config


def test_defaults_live_in_the_dataclass():
    config = BenchmarkConfig(name="x")
    assert config.methods == ("kprune",)
    assert config.flops_ratios == (1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2)


def test_overrides_are_typed():
    config = apply_overrides(
        load_config("smoke"),
        [
            "timing.min_iters=50",
            "timing.max_iters=60",
            "flops_ratios=[1.0, 0.5]",
            "kprune.rep_weight=1e-3",
            "model.source=random-shape",
            "model.name=tiny",
            "task.max_eval_examples=none",
            "evaluate=false",
            "batch_sizes=4",
        ],
    )
    assert config.timing.min_iters == 50 and config.flops_ratios == (1.0, 0.5)
    assert config.method_options["kprune"]["rep_weight"] == pytest.approx(1e-3)
    assert config.model.source == "random-shape" and config.task.max_eval_examples is None
    assert config.evaluate is False and config.batch_sizes == (4,)
    assert method_config(config.method_options, "kprune", 0.5) == KpruneConfig(
        target_flops_ratio=0.5, rep_weight=1e-3
    )


def test_runtime_overrides_apply_to_all_or_one():
    config = apply_overrides(load_config("smoke"), ["runtimes.threads=2"])
    assert [r.threads for r in config.runtimes] == [2, 2]
    config = apply_overrides(config, ["runtimes.1.threads=1"])
    assert [r.threads for r in config.runtimes] == [2, 1]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("timing.min_itres=5", "unknown key 'timing.min_itres'.*allowed keys: warmup_iters"),
        ("colour=red", "unknown key 'colour'.*allowed keys: name.*method tables: .*kprune"),
        ("kprune.rep_wieght=1", "unknown key 'kprune.rep_wieght'.*allowed keys:.*rep_weight"),
        ("timing.min_iters=many", "timing.min_iters: expected int, got 'many'"),
        ("evaluate=3", "evaluate: expected bool"),
        ("flops_ratios=[1.0, 1.5]", r"flops_ratios: 1.5 is outside \(0, 1\]"),
        ("flops_ratios=[0.0]", r"outside \(0, 1\]"),
        ("flops_ratios=[]", "flops_ratios must not be empty"),
        ("methods=['nope']", "unknown method 'nope'; known methods: .*kprune"),
        ("kprune.temperature=-1", "kprune: temperature=-1.0 must be > 0"),
        ("kprune.target_flops_ratio=0.5", "kprune.target_flops_ratio"),
        ("runtimes.backend=tensorrt", "backend: 'tensorrt' is not one of"),
        ("runtimes.5.threads=1", "index out of range"),
        ("task.name=imdb", "unknown task 'imdb'"),
        ("model.source=cloud", "model.source.*'cloud'"),
        ("batch_sizes=[0]", "batch_sizes must be positive"),
        ("timing.min_iters=0", "min_iters"),
        ("novalue", "not of the form key=value"),
    ],
)
def test_bad_overrides_name_the_problem(override, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(load_config("smoke"), [override])


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ConfigError, match="unknown preset 'nope'; presets: .*smoke"):
        load_config("nope")


def test_missing_toml_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.toml")


def test_toml_file_with_a_typo_names_the_key(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text('methods = ["kprune"]\n[timing]\nmin_iter = 3\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown key 'timing.min_iter'"):
        load_config(path)


def test_toml_file_name_is_the_default_config_name(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text("flops_ratios = [1.0, 0.5]\n[kprune]\nrep_weight = 0.001\n", encoding="utf-8")
    config = load_config(path)
    assert config.name == "mine" and config.flops_ratios == (1.0, 0.5)
    assert config.method_options == {"kprune": {"rep_weight": 0.001}}


def test_invalid_toml(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text("name = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_config_name_must_be_usable_in_file_names():
    with pytest.raises(ConfigError, match="used in file names"):
        BenchmarkConfig(name="a/b")


def test_own_glue_files_reach_the_task_loader(tmp_path):
    from harness.data.tasks import load_task
    from tests.harness import task_fixtures as fx

    folder = fx.write_sst2(tmp_path / "SST-2")
    config = apply_overrides(
        load_config("smoke"),
        ["task.name='sst2'", f"task.data_dir='{folder}'", "task.source='files'"],
    )
    task = load_task(config.task)
    assert task.name == "sst2" and len(task.dev) > 0 and task.kind == "classification"


def test_bad_task_source_is_rejected():
    with pytest.raises(ConfigError, match="task.source"):
        apply_overrides(load_config("smoke"), ["task.source='web'"])
