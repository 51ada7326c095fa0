"""A deterministic synthetic sentence-classification task for the smoke preset and tests.

Sentences are random words over a tiny vocabulary ("pos3 mid7 neg1 ..."), of varying length;
the label is 1 when "pos" words outnumber "neg" words. `tokenizer()` is the matching word-level
tokenizer (45 ids), for models that ship none (random weights, vocabulary >= 45). No files, no
network: data and vocabulary are pure functions of constants, reproducible anywhere.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from harness.config.schema import TaskSpec
from harness.data.tasks.base import TaskData, TextExample

log = logging.getLogger(__name__)

NAME = "synthetic"
POSITIVE = tuple(f"pos{i}" for i in range(10))
NEGATIVE = tuple(f"neg{i}" for i in range(10))
NEUTRAL = tuple(f"mid{i}" for i in range(20))
WORDS = POSITIVE + NEGATIVE + NEUTRAL
"""Every word a synthetic sentence uses (40; fits a 128-entry tiny vocabulary)."""
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
TRAIN_SIZE, DEV_SIZE = 512, 128
MIN_WORDS, MAX_WORDS = 4, 24
SEED = 1234


def label_of(words: list[str]) -> int:
    """1 when positive words outnumber negative ones, else 0."""
    positive = sum(word in POSITIVE for word in words)
    negative = sum(word in NEGATIVE for word in words)
    return int(positive > negative)


def make_examples(count: int, seed: int) -> tuple[TextExample, ...]:
    """`count` sentences of MIN_WORDS..MAX_WORDS words drawn uniformly from WORDS."""
    rng = np.random.default_rng(seed)
    examples = []
    for _ in range(count):
        length = int(rng.integers(MIN_WORDS, MAX_WORDS + 1))
        words = [WORDS[i] for i in rng.integers(0, len(WORDS), size=length)]
        examples.append(TextExample(text=" ".join(words), label=label_of(words)))
    return tuple(examples)


def load(spec: TaskSpec) -> TaskData:
    """The synthetic task (spec paths are ignored: the data is generated, not read)."""
    return TaskData(
        name=spec.name,
        kind="classification",
        label_names=("negative", "positive"),
        train=make_examples(TRAIN_SIZE, SEED),
        dev=make_examples(DEV_SIZE, SEED + 1),
    )


def tokenizer() -> Any:
    """A BERT-style word-level tokenizer over SPECIAL_TOKENS + WORDS (ids 0..44; [PAD] = 0)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS + WORDS)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=core,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=512,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )
