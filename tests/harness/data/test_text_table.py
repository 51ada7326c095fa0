"""The text_table task on CSV/TSV/JSONL/Parquet fixtures written here with pandas: columns,
classes, regression, seeded splits, config fields, typed errors and tokenization."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness.config.load import apply_overrides, config_from_dict, load_config
from harness.config.schema import TaskSpec
from harness.data.encoding import collate, tokenize_texts
from harness.data.tasks import (
    TASKS,
    EmptySplitError,
    TaskFormatError,
    TextExample,
    load_task,
)
from harness.data.tasks.text_table import NAME, ParquetUnavailableError
from harness.errors import EXIT_USAGE, ConfigError, UsageError, exit_code
from tests.harness import task_fixtures as fx

TRAIN = {
    "sentence": ["a good movie", "an awful film", "great fun", "boring plot", "really loved it"],
    "sentiment": ["pos", "neg", "pos", "neg", "pos"],
}
DEV = {"sentence": ["the acting was bad", "very good"], "sentiment": ["neg", "pos"]}
PAIRS = {
    "premise": ["the river flows", "paris is a city", "the stock was good"],
    "hypothesis": ["the seine flows", "paris is a river", "shares were good"],
    "entails": ["yes", "no", "yes"],
}


def write(frame: dict[str, list[Any]] | pd.DataFrame, path: Path) -> Path:
    """The table at `path` in the format its suffix names (pandas writers, no index)."""
    table = pd.DataFrame(frame)
    if path.suffix == ".csv":
        table.to_csv(path, index=False)
    elif path.suffix in (".tsv", ".txt"):
        table.to_csv(path, sep="\t", index=False)
    elif path.suffix == ".jsonl":
        table.to_json(path, orient="records", lines=True)
    else:
        table.to_parquet(path, index=False)
    return path


def spec(**fields: Any) -> TaskSpec:
    return TaskSpec(NAME, **{"text_column": "sentence", "label_column": "sentiment", **fields})


def files(tmp_path: Path, suffix: str, train: Any = None, dev: Any = None) -> dict[str, str]:
    train_path = write(TRAIN if train is None else train, tmp_path / f"train{suffix}")
    dev_path = write(DEV if dev is None else dev, tmp_path / f"dev{suffix}")
    return {"train_path": str(train_path), "dev_path": str(dev_path)}


def test_text_table_is_registered() -> None:
    assert TASKS[NAME] is not None


# --- reading each format -----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_single_text_classes_are_inferred_sorted_and_logged(
    tmp_path: Path, suffix: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="harness.data.tasks.text_table"):
        data = load_task(spec(**files(tmp_path, suffix)))
    assert (data.name, data.kind, data.label_names, data.num_labels) == (
        NAME,
        "classification",
        ("neg", "pos"),
        2,
    )
    assert data.train[:2] == (TextExample("a good movie", 1), TextExample("an awful film", 0))
    assert data.dev == (TextExample("the acting was bad", 0), TextExample("very good", 1))
    assert "classes ['neg', 'pos']" in caplog.text


def test_parquet_reads_like_csv(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    assert load_task(spec(**files(tmp_path, ".parquet"))) == load_task(
        spec(**files(tmp_path, ".csv"))
    )


def test_parquet_without_an_engine_says_to_install_pyarrow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("pyarrow", "fastparquet"):
        monkeypatch.setitem(sys.modules, module, None)  # `import pyarrow` now fails
    (tmp_path / "train.parquet").write_bytes(b"PAR1")
    with pytest.raises(ParquetUnavailableError, match="pip install pyarrow"):
        load_task(spec(path=str(tmp_path / "train.parquet")))


def test_text_pairs_from_tsv(tmp_path: Path) -> None:
    paths = files(tmp_path, ".tsv", PAIRS, PAIRS)
    data = load_task(
        TaskSpec(
            NAME,
            text_column="premise",
            text_pair_column="hypothesis",
            label_column="entails",
            **paths,
        )
    )
    assert data.label_names == ("no", "yes")
    assert data.train[1] == TextExample("paris is a city", 0, "paris is a river")


def test_regression_target_is_a_float(tmp_path: Path) -> None:
    scores = {"sentence": ["good", "bad", "fun"], "score": [4.5, 1, "2.25"]}  # mixed as written
    path = write(pd.DataFrame(scores).astype({"score": str}), tmp_path / "s.csv")
    paths = {"train_path": str(path), "dev_path": str(path)}
    data = load_task(spec(label_column="score", kind="regression", **paths))
    assert (data.kind, data.label_names, data.num_labels) == ("regression", (), 1)
    assert [e.label for e in data.dev] == [4.5, 1.0, 2.25]


def test_integer_classes_sort_numerically_and_explicit_labels_keep_their_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    numbers = {"sentence": ["a", "b", "c", "d"], "sentiment": [10, 2, 0, 1]}
    paths = files(tmp_path, ".jsonl", numbers, numbers)
    assert load_task(spec(**paths)).label_names == ("0", "1", "2", "10")
    with caplog.at_level(logging.WARNING, logger="harness.data.tasks.text_table"):
        data = load_task(spec(labels=("pos", "neg", "neutral"), **files(tmp_path, ".csv")))
    assert data.label_names == ("pos", "neg", "neutral")
    assert data.train[0] == TextExample("a good movie", 0)
    assert "task.labels ['neutral'] never occur in train" in caplog.text


def test_compressed_csv_is_read_by_its_inner_suffix(tmp_path: Path) -> None:
    path = tmp_path / "all.csv.gz"
    pd.DataFrame(TRAIN).to_csv(path, index=False)
    data = load_task(spec(path=str(path), dev_fraction=0.4))
    assert (len(data.train), len(data.dev)) == (3, 2)


def test_format_override_reads_an_unusual_suffix(tmp_path: Path) -> None:
    path = write(TRAIN, tmp_path / "data.txt")
    data = load_task(spec(path=str(path), format="tsv", dev_fraction=0.4))
    assert len(data.train) + len(data.dev) == len(TRAIN["sentence"])


# --- seeded split ------------------------------------------------------------------------------


def _split(path: Path, seed: int) -> tuple[list[str], list[str]]:
    data = load_task(spec(path=str(path), dev_fraction=0.25, split_seed=seed, labels=("n", "p")))
    assert all(isinstance(e, TextExample) for e in data.train + data.dev)
    return [e.text for e in data.train], [e.text for e in data.dev]  # type: ignore[union-attr]


def test_seeded_split_is_deterministic_disjoint_and_keeps_file_order(tmp_path: Path) -> None:
    texts = [f"text {i}" for i in range(40)]
    path = write({"sentence": texts, "sentiment": ["n", "p"] * 20}, tmp_path / "all.csv")
    train, dev = _split(path, seed=3)
    assert (train, dev) == _split(path, seed=3)
    assert len(dev) == 10 and set(train).isdisjoint(dev) and sorted(train + dev) == sorted(texts)
    assert dev == sorted(dev, key=texts.index) and train == sorted(train, key=texts.index)
    assert _split(path, seed=4)[1] != dev


def test_split_that_leaves_dev_empty_is_an_error(tmp_path: Path) -> None:
    path = write({"sentence": ["a", "b"], "sentiment": ["n", "p"]}, tmp_path / "two.csv")
    with pytest.raises(EmptySplitError, match="dev_fraction"):
        load_task(spec(path=str(path), dev_fraction=0.1))


# --- errors -----------------------------------------------------------------------------------


def test_missing_column_names_it_and_lists_the_columns(tmp_path: Path) -> None:
    paths = files(tmp_path, ".csv")
    with pytest.raises(TaskFormatError) as caught:
        load_task(spec(text_column="review", **paths))
    message = str(caught.value)
    assert "train.csv" in message and "'review'" in message and "task.text_column" in message
    assert "['sentence', 'sentiment']" in message


@pytest.mark.parametrize(
    ("table", "fields", "message"),
    [
        (  # a non-numeric regression target
            {"sentence": ["a", "b"], "sentiment": ["1.5", "high"]},
            {"kind": "regression"},
            r"data row 2 \(1-based, after the header\).*'high'",
        ),
        (  # a null text
            {"sentence": ["a", None, "c"], "sentiment": ["n", "p", "n"]},
            {},
            r"data row 2 .*'sentence' is empty or null",
        ),
        (  # a null label
            {"sentence": ["a", "b"], "sentiment": ["n", None]},
            {},
            r"data row 2 .*'sentiment' is empty or null",
        ),
        (  # a label outside the explicit list
            {"sentence": ["a", "b", "c"], "sentiment": ["n", "p", "maybe"]},
            {"labels": ("n", "p")},
            r"data row 3 .*'maybe' is not one of task.labels",
        ),
        (  # float scores without kind = "regression"
            {"sentence": ["a", "b"], "sentiment": ["0.5", "1.75"]},
            {},
            r"non-integer numbers.*task.kind = 'regression'",
        ),
        (  # one class only
            {"sentence": ["a", "b"], "sentiment": ["p", "p"]},
            {},
            r"single class \('p',\)",
        ),
    ],
)
def test_bad_rows_name_the_row_and_value(
    tmp_path: Path, table: dict[str, list[Any]], fields: dict[str, Any], message: str
) -> None:
    paths = files(tmp_path, ".csv", table, table)
    with pytest.raises(TaskFormatError, match=message):
        load_task(spec(**paths, **fields))


def test_jsonl_rows_are_counted_from_one_and_must_hold_text(tmp_path: Path) -> None:
    table = {"sentence": ["a", 7], "sentiment": ["n", "p"]}
    with pytest.raises(TaskFormatError, match=r"jsonl: data row 2 \(1-based\).*holds 7 \(int\)"):
        load_task(spec(**files(tmp_path, ".jsonl", table, table)))


def test_malformed_jsonl_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"sentence": "a", "sentiment": "n"}\n{"sentence": b}\n', encoding="utf-8")
    with pytest.raises(TaskFormatError, match="bad.jsonl is not a valid jsonl table at line 2"):
        load_task(spec(path=str(path)))


def test_malformed_csv_passes_on_the_parser_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("sentence,sentiment\na,n\nb,p,extra\n", encoding="utf-8")
    with pytest.raises(TaskFormatError, match="bad.csv is not a valid csv table.*line 3"):
        load_task(spec(path=str(path)))


def test_dev_label_unseen_in_train_lists_both(tmp_path: Path) -> None:
    dev = {"sentence": ["a", "b"], "sentiment": ["pos", "mixed"]}
    with pytest.raises(TaskFormatError) as caught:
        load_task(spec(**files(tmp_path, ".csv", dev=dev)))
    message = str(caught.value)
    assert "dev row 2" in message and "dev-only labels ['mixed']" in message
    assert "train labels ['neg', 'pos']" in message


def test_header_only_dev_file_is_an_empty_split(tmp_path: Path) -> None:
    dev = {"sentence": [], "sentiment": []}
    with pytest.raises(EmptySplitError, match=r"'dev' is empty \(read from .*dev.csv\)"):
        load_task(spec(**files(tmp_path, ".csv", dev=dev)))


@pytest.mark.parametrize(
    ("name", "content", "error", "message"),
    [
        ("data.xlsx", "x", TaskFormatError, r"suffix '.xlsx'.*set task.format"),
        ("missing.csv", None, TaskFormatError, "data file not found"),
        ("empty.csv", "", EmptySplitError, "empty.csv is empty"),
        ("latin1.csv", b"sentence,sentiment\ncaf\xe9,n\n", TaskFormatError, "not UTF-8"),
    ],
)
def test_file_problems_name_the_file(
    tmp_path: Path, name: str, content: str | bytes | None, error: type, message: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(error, match=message) as caught:
        load_task(spec(path=str(path)))
    assert exit_code(caught.value) == EXIT_USAGE


def test_no_data_file_at_all_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="train_path"):
        load_task(TaskSpec(NAME))


# --- config fields -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"path": "a.csv", "train_path": "t.csv", "dev_path": "d.csv"}, "not both"),
        ({"train_path": "t.csv"}, "go together"),
        ({"dev_fraction": 1.0}, r"dev_fraction must be in \(0, 1\)"),
        ({"dev_fraction": 0.0}, r"dev_fraction must be in \(0, 1\)"),
        ({"kind": "ranking"}, "task.kind"),
        ({"format": "xls"}, "task.format"),
        ({"labels": ("a",)}, ">= 2 classes"),
        ({"labels": ("a", "b", "a")}, "duplicates"),
        ({"labels": ("a", "b"), "kind": "regression"}, "'classification'"),
        ({"text_pair_column": "text"}, "must differ"),
        ({"label_column": ""}, "must not be empty"),
    ],
)
def test_task_spec_rejects_bad_table_fields(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TaskSpec(NAME, **fields)


def test_toml_task_table_and_overrides_reach_the_loader(tmp_path: Path) -> None:
    paths = files(tmp_path, ".csv")
    toml = tmp_path / "mine.toml"
    toml.write_text(
        "[model]\n"
        'source = "local"\n'
        'path = "/models/my-finetuned-bert"\n'
        "[task]\n"
        'name = "text_table"\n'
        f"train_path = {paths['train_path']!r}\n"
        f"dev_path = {paths['dev_path']!r}\n"
        'text_column = "sentence"\n'
        'label_column = "sentiment"\n'
        "max_length = 64\n",
        encoding="utf-8",
    )
    config = apply_overrides(load_config(toml), ['task.labels=["pos", "neg"]'])
    assert config.task.labels == ("pos", "neg")
    assert load_task(config.task).train[0] == TextExample("a good movie", 0)
    with pytest.raises(ConfigError, match="task.format"):
        apply_overrides(config, ["task.format='xls'"])


def test_existing_presets_keep_their_task_settings() -> None:
    config = load_config("default")
    assert config.task.train_path is None and config.task.kind == "classification"
    assert config_from_dict({"name": "x", "task": {"name": "sst2"}}).task.format == "auto"


def test_a_finetuned_model_for_your_own_table_is_a_usage_error() -> None:
    from harness.models.finetune import preset

    with pytest.raises(UsageError, match=r"source = \"local\""):
        preset(NAME)


# --- end to end: what the sweep encodes --------------------------------------------------------


def _encode(data: Any, tokenizer: Any, max_length: int) -> list[dict[str, Any]]:
    examples = [e for e in data.train + data.dev if isinstance(e, TextExample)]
    rows = tokenize_texts(tokenizer, examples, max_length)
    assert len(rows) == len(examples) == len(data.train) + len(data.dev)
    assert all(2 < len(row["input_ids"]) <= max_length for row in rows)
    assert collate(rows, 0)["input_ids"].shape == (
        len(rows),
        max(map(len, (r["input_ids"] for r in rows))),
    )
    return rows


def test_loaded_table_tokenizes_single_texts_and_pairs(tmp_path: Path) -> None:
    tokenizer = fx.tiny_tokenizer(tmp_path / "tokenizer")
    single = load_task(spec(max_length=16, **files(tmp_path, ".csv")))
    assert all(set(row["token_type_ids"]) == {0} for row in _encode(single, tokenizer, 16))
    pair_spec = TaskSpec(
        NAME,
        text_column="premise",
        text_pair_column="hypothesis",
        label_column="entails",
        max_length=16,
        **files(tmp_path, ".jsonl", PAIRS, PAIRS),
    )
    pairs = load_task(pair_spec)
    assert all(set(row["token_type_ids"]) == {0, 1} for row in _encode(pairs, tokenizer, 16))
