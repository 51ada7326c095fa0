"""Bad setups stop before anything is trained, pruned or written: exit 2, one message naming the
problem and the way out, no traceback, and no results file left behind (it would mislead
`--resume`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.faults.helpers import (
    assert_clean_failure,
    local_model,
    results_files,
    run_main,
    save_bert,
    save_gpt2,
    save_t5,
    smoke_argv,
)

pytestmark = pytest.mark.slow  # each saves a checkpoint or loads the task and model stack


def _no_traceback_logged(caplog) -> None:
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


@pytest.mark.parametrize(
    ("save", "model_class"),
    [(save_gpt2, "GPT2ForSequenceClassification"), (save_t5, "T5ForSequenceClassification")],
)
def test_unsupported_architectures_are_named_with_the_supported_ones(
    tmp_path, capsys, caplog, save, model_class
):
    folder = save(tmp_path / "model")
    out = tmp_path / "results"
    code, err = run_main(smoke_argv(out, *local_model(folder)), capsys)
    assert_clean_failure(code, err, model_class, "cannot prune", "BertForSequenceClassification")
    assert not out.exists()  # stopped before the results file was opened
    _no_traceback_logged(caplog)


def test_a_truncated_safetensors_file_is_named(tmp_path, capsys):
    folder = save_bert(tmp_path / "model")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    code, err = run_main(smoke_argv(tmp_path / "results", *local_model(folder)), capsys)
    assert_clean_failure(code, err, str(weights), "truncated", "save_pretrained")
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"num_attention_heads": "4"}, "num_attention_heads"),
        ({"hidden_size": None}, "hidden_size"),
        ({"num_hidden_layers": -2}, "num_hidden_layers"),
    ],
)
def test_a_badly_typed_config_json_is_named(tmp_path, capsys, change, fragment):
    folder = save_bert(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **change}))
    code, err = run_main(smoke_argv(tmp_path / "results", *local_model(folder)), capsys)
    assert_clean_failure(code, err, "config.json", fragment)


def test_a_config_json_that_is_not_json(tmp_path, capsys):
    folder = save_bert(tmp_path / "model")
    (folder / "config.json").write_text("{ not json")
    code, err = run_main(smoke_argv(tmp_path / "results", *local_model(folder)), capsys)
    assert_clean_failure(code, err, "config.json", "re-save")


def test_a_missing_model_folder(tmp_path, capsys):
    code, err = run_main(smoke_argv(tmp_path / "r", *local_model(tmp_path / "nowhere")), capsys)
    assert_clean_failure(code, err, "nowhere", "does not exist", "model.path")


def _glue_folder(folder: Path, encoding: str = "utf-8", text: str = "a fine film") -> Path:
    folder.mkdir(parents=True)
    rows = "sentence\tlabel\n" + "".join(f"{text} {i}\t{i % 2}\n" for i in range(8))
    for name in ("train.tsv", "dev.tsv"):
        (folder / name).write_bytes(rows.encode(encoding))
    return folder


def _sst2(folder: Path) -> list[str]:
    return ["--set", "task.name='sst2'", "--set", f"task.data_dir='{folder}'"]


def test_a_non_utf8_tsv_is_named_with_how_to_convert_it(tmp_path, capsys):
    data = _glue_folder(tmp_path / "SST-2", encoding="latin-1", text="un film très réussi")
    code, err = run_main(smoke_argv(tmp_path / "results", *_sst2(data)), capsys)
    assert_clean_failure(code, err, "train.tsv", "not UTF-8", "iconv")


def test_a_missing_data_folder_says_which_setting_to_fix(tmp_path, capsys):
    code, err = run_main(smoke_argv(tmp_path / "results", *_sst2(tmp_path / "nope")), capsys)
    assert_clean_failure(code, err, "train.tsv", "task.data_dir")


def test_a_model_without_tokenizer_for_a_task_without_one(tmp_path, capsys):
    folder = save_bert(tmp_path / "model")
    data = _glue_folder(tmp_path / "SST-2")
    code, err = run_main(smoke_argv(tmp_path / "r", *local_model(folder), *_sst2(data)), capsys)
    assert_clean_failure(code, err, "no tokenizer", "tokenizer.json")


def test_a_sequence_length_beyond_the_positions_is_caught_up_front(tmp_path, capsys):
    folder = save_bert(tmp_path / "model", max_positions=24)  # smoke: seq 16, max_length 32
    code, err = run_main(smoke_argv(tmp_path / "results", *local_model(folder)), capsys)
    assert_clean_failure(code, err, "task.max_length", "32 tokens", "24 positions", "--set")


def test_a_too_long_sequence_is_caught_by_the_dry_run_too(tmp_path, capsys):
    argv = ["-q", "sweep", "smoke", "--dry-run", "--out", str(tmp_path / "results")]
    code, err = run_main([*argv, "--set", "seq_lens=[1024]"], capsys)
    assert_clean_failure(code, err, "seq_lens", "1024", "512 positions")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize(
    "setting",
    ['runtimes=[{backend = "torch", device = "cuda"}]', "task.device='cuda'"],
)
def test_cuda_on_a_cpu_machine_is_refused_before_anything_runs(tmp_path, capsys, setting):
    for dry in ([], ["--dry-run"]):
        code, err = run_main([*smoke_argv(tmp_path / "r", "--set", setting), *dry], capsys)
        assert_clean_failure(code, err, "need CUDA", "CUDA machine")
    assert not (tmp_path / "r").exists()


def test_a_cache_path_that_is_a_file(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "cache-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("KPRUNE_BENCH_CACHE", str(blocker))
    argv = ["-q", "sweep", "default", "--dry-run", "--out", str(tmp_path / "results")]
    code, err = run_main(argv, capsys)
    assert_clean_failure(code, err, str(blocker), "is a file", "KPRUNE_BENCH_CACHE")


def test_a_config_name_too_long_for_a_file_name(tmp_path, capsys):
    argv = smoke_argv(tmp_path / "results", "--set", f"name='{'n' * 300}'")
    code, err = run_main(argv, capsys)
    assert_clean_failure(code, err, "name", "file names")


def test_a_start_that_fails_after_opening_leaves_no_results_file(tmp_path, capsys):
    # A 3-output head for the 2-class synthetic task fails when the model is loaded, after the
    # results file was opened: the empty file is removed again, so --resume is not misled.
    folder = save_bert(tmp_path / "model", num_labels=3)
    out = tmp_path / "results"
    code, err = run_main(smoke_argv(out, *local_model(folder)), capsys)
    assert_clean_failure(code, err, "3-output head", "2 labels")
    assert results_files(out) == []
    assert not [p for p in out.rglob("*") if p.is_file()]  # no lock or temp files either
