"""Task loaders on small fixture files: formats, label conventions, splits and typed errors."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from harness.config.schema import TaskSpec
from harness.data.tasks import (
    TASKS,
    DatasetsUnavailableError,
    EmptySplitError,
    QAExample,
    TaskData,
    TaskFormatError,
    TextExample,
    UnknownTaskError,
    load_task,
)
from harness.data.tasks.rotten_tomatoes import is_dev_movie
from tests.harness import task_fixtures as fx


def test_unknown_task_name_lists_known_tasks() -> None:
    with pytest.raises(UnknownTaskError, match="rotten_tomatoes"):
        load_task(TaskSpec("imdb"))


def test_registry_covers_bundled_glue_and_squad_tasks() -> None:
    expected = {"rotten_tomatoes", "reuters_r8", "20newsgroups", "sst2", "stsb", "mnli", "squad"}
    assert expected <= set(TASKS)


# --- Rotten Tomatoes -------------------------------------------------------------------------


def _rt_rows() -> list[tuple[str, str, str]]:
    train_movies, dev_movies = fx.movie_names(2, dev=False), fx.movie_names(1, dev=True)
    return [
        ("plot", "a man walks into a bar", train_movies[0]),
        ("fresh", "great fun", train_movies[0]),
        ("rotten", "awful and boring", train_movies[0]),
        ("fresh", "great fun", train_movies[1]),  # duplicate text: dropped
        ("rotten", "bad acting", train_movies[1]),
        ("fresh", "loved the story", dev_movies[0]),
        ("rotten", "hated the ending", dev_movies[0]),
    ]


def test_rotten_tomatoes_drops_plot_dedupes_and_splits_by_movie(tmp_path: Path) -> None:
    path = fx.write_rotten_tomatoes(tmp_path / "rt.csv.bz2", _rt_rows())
    data = load_task(TaskSpec("rotten_tomatoes", path=str(path)))
    assert data.kind == "classification"
    assert data.label_names == ("rotten", "fresh")
    assert [(e.text, e.label) for e in data.train] == [
        ("great fun", 1),
        ("awful and boring", 0),
        ("bad acting", 0),
    ]
    assert [(e.text, e.label) for e in data.dev] == [
        ("loved the story", 1),
        ("hated the ending", 0),
    ]


def test_movie_split_is_deterministic_and_about_one_fifth() -> None:
    names = [f"film {i}" for i in range(2000)]
    dev_share = sum(map(is_dev_movie, names)) / len(names)
    assert 0.17 < dev_share < 0.23
    assert [is_dev_movie(n) for n in names[:50]] == [is_dev_movie(n) for n in names[:50]]


def test_rotten_tomatoes_without_dev_movies_is_an_empty_split(tmp_path: Path) -> None:
    rows = [r for r in _rt_rows() if not is_dev_movie(r[2])]
    path = fx.write_rotten_tomatoes(tmp_path / "rt.csv.bz2", rows)
    with pytest.raises(EmptySplitError, match="'dev' is empty"):
        load_task(TaskSpec("rotten_tomatoes", path=str(path)))


def test_rotten_tomatoes_unknown_category_is_a_format_error(tmp_path: Path) -> None:
    rows = [*_rt_rows(), ("meh", "so so", "movie 0")]
    path = fx.write_rotten_tomatoes(tmp_path / "rt.csv.bz2", rows)
    with pytest.raises(TaskFormatError, match="'meh'"):
        load_task(TaskSpec("rotten_tomatoes", path=str(path)))


# --- Orange tab corpora ----------------------------------------------------------------------


def test_reuters_reads_tab_files_with_sorted_class_names(tmp_path: Path) -> None:
    fx.write_tab(tmp_path / "reuters-r8-train.tab", [("trade", "trade rates"), ("acq", "shares")])
    fx.write_tab(tmp_path / "reuters-r8-test.tab", [("acq", "company shares")])
    data = load_task(TaskSpec("reuters_r8", data_dir=str(tmp_path)))
    assert data.label_names == ("acq", "trade")
    assert data.train == (TextExample("trade rates", 1), TextExample("shares", 0))
    assert data.dev == (TextExample("company shares", 0),)


def test_newsgroups_test_class_missing_from_train_is_a_format_error(tmp_path: Path) -> None:
    fx.write_tab(tmp_path / "20newsgroups-train.tab", [("sci.space", "a"), ("rec.autos", "b")])
    fx.write_tab(tmp_path / "20newsgroups-test.tab", [("talk.politics", "c")])
    with pytest.raises(TaskFormatError, match="talk.politics"):
        load_task(TaskSpec("20newsgroups", data_dir=str(tmp_path)))


def test_missing_tab_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(TaskFormatError, match="reuters-r8-train.tab"):
        load_task(TaskSpec("reuters_r8", data_dir=str(tmp_path)))


# --- GLUE TSV --------------------------------------------------------------------------------


def test_sst2_tsv_with_header(tmp_path: Path) -> None:
    data = load_task(TaskSpec("sst2", data_dir=str(fx.write_sst2(tmp_path))))
    assert data.label_names == ("negative", "positive")
    assert data.train[0] == TextExample("a good movie", 1)
    assert len(data.train) == len(fx.SST2_TRAIN)
    assert len(data.dev) == len(fx.SST2_DEV)


def test_cola_tsv_is_headerless_with_text_in_column_3(tmp_path: Path) -> None:
    rows = [("src", 1, "", "the movie is good"), ("src", 0, "*", "movie the good is")]
    fx.write_tsv(tmp_path / "train.tsv", None, rows)
    fx.write_tsv(tmp_path / "dev.tsv", None, rows[:1])
    data = load_task(TaskSpec("cola", data_dir=str(tmp_path)))
    assert data.train == (TextExample("the movie is good", 1), TextExample("movie the good is", 0))


def test_stsb_is_regression_on_sentence_pairs(tmp_path: Path) -> None:
    header = ["index", "genre", "sentence1", "sentence2", "score"]
    fx.write_tsv(tmp_path / "train.tsv", header, [(0, "g", "a cat", "a dog", "1.5")])
    fx.write_tsv(tmp_path / "dev.tsv", header, [(1, "g", "a", "an", "4.75")])
    data = load_task(TaskSpec("stsb", data_dir=str(tmp_path)))
    assert data.kind == "regression"
    assert data.num_labels == 1
    assert data.dev == (TextExample("a", 4.75, "an"),)


def test_mnli_uses_gold_label_and_dev_matched(tmp_path: Path) -> None:
    header = ["index", "sentence1", "sentence2", "label1", "gold_label"]
    fx.write_tsv(tmp_path / "train.tsv", header, [(0, "p", "h", "neutral", "neutral")])
    fx.write_tsv(tmp_path / "dev_matched.tsv", header, [(0, "p", "h", "x", "contradiction")])
    data = load_task(TaskSpec("mnli", data_dir=str(tmp_path)))
    assert data.label_names == ("entailment", "neutral", "contradiction")
    assert (data.train[0].label, data.dev[0].label) == (1, 2)


def test_mrpc_columns_by_header_name(tmp_path: Path) -> None:
    header = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]
    fx.write_tsv(tmp_path / "train.tsv", header, [(1, 7, 8, "it is good", "it is great")])
    fx.write_tsv(tmp_path / "dev.tsv", header, [(0, 7, 8, "good", "bad")])
    data = load_task(TaskSpec("mrpc", data_dir=str(tmp_path)))
    assert data.train == (TextExample("it is good", 1, "it is great"),)


def test_glue_label_outside_the_task_labels_is_a_format_error(tmp_path: Path) -> None:
    fx.write_sst2(tmp_path, dev=[("good", 2)])
    with pytest.raises(TaskFormatError, match=r"dev.tsv:2: label '2'"):
        load_task(TaskSpec("sst2", data_dir=str(tmp_path)))


def test_glue_missing_column_is_a_format_error(tmp_path: Path) -> None:
    fx.write_tsv(tmp_path / "train.tsv", ["text", "label"], [("good", 1)])
    fx.write_tsv(tmp_path / "dev.tsv", ["text", "label"], [("good", 1)])
    with pytest.raises(TaskFormatError, match="'sentence'"):
        load_task(TaskSpec("sst2", data_dir=str(tmp_path)))


def test_glue_header_only_dev_file_is_an_empty_split(tmp_path: Path) -> None:
    fx.write_sst2(tmp_path, dev=[])
    with pytest.raises(EmptySplitError, match="'dev'"):
        load_task(TaskSpec("sst2", data_dir=str(tmp_path)))


def test_glue_without_data_dir_and_without_datasets_names_the_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(DatasetsUnavailableError, match="pip install datasets"):
        load_task(TaskSpec("sst2"))


def test_glue_through_the_datasets_library_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []

    def load_dataset(path: str, name: str) -> dict[str, list[dict[str, Any]]]:
        calls.append((path, name))
        rows = [{"premise": "p", "hypothesis": "h", "label": 2}]
        return {"train": rows, "validation_matched": rows}

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    data = load_task(TaskSpec("mnli"))
    assert calls == [("nyu-mll/glue", "mnli")]
    assert data.dev == (TextExample("p", 2, "h"),)


# --- SQuAD -----------------------------------------------------------------------------------


def test_squad_v2_json_keeps_answers_and_impossible_questions(tmp_path: Path) -> None:
    data = load_task(TaskSpec("squad_v2", data_dir=str(fx.write_squad(tmp_path, "v2.0"))))
    assert data.kind == "qa"
    first, _, impossible = data.dev
    assert isinstance(first, QAExample) and isinstance(impossible, QAExample)
    assert first.answer_texts == ("paris",)
    assert first.context[first.answer_starts[0] :].startswith("paris")
    assert impossible.is_impossible and impossible.answer_texts == ()


def test_squad_v1_file_names(tmp_path: Path) -> None:
    data = load_task(TaskSpec("squad", data_dir=str(fx.write_squad(tmp_path, "v1.1"))))
    assert not any(isinstance(e, QAExample) and e.is_impossible for e in data.dev)


def test_squad_without_data_dir_says_which_files(tmp_path: Path) -> None:
    with pytest.raises(TaskFormatError, match="dev-v1.1.json"):
        load_task(TaskSpec("squad"))


def test_malformed_squad_json_is_a_format_error(tmp_path: Path) -> None:
    fx.write_squad(tmp_path, "v1.1")
    (tmp_path / "dev-v1.1.json").write_text('{"data": [{"no_paragraphs": 1}]}', encoding="utf-8")
    with pytest.raises(TaskFormatError, match="not SQuAD-format"):
        load_task(TaskSpec("squad", data_dir=str(tmp_path)))


def test_task_data_counts_head_outputs() -> None:
    text = (TextExample("a", 0),)
    assert TaskData("t", "classification", ("x", "y", "z"), text, text).num_labels == 3
    with pytest.raises(ValueError, match="2 label names"):
        TaskData("t", "classification", ("x",), text, text)
