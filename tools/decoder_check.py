"""Real check of the decoder building blocks on SmolLM2-135M-Instruct (CPU, 1 thread):
``python tools/decoder_check.py OUT.json [--windows 4] [--ort-windows 1]``.

Converts (or reuses) the float32 checkpoint, scores perplexity on the first windows of the
Wikipedia excerpt (PyTorch, and ORT on fewer windows as a cross-check), exports the prefill and
decode-with-cache graphs, and times prefill (B=1, T=128) and decode (16 tokens) in both
runtimes. Writes one JSON record (stdout gets the same) that says the weights were 4-bit.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer, LlamaForCausalLM

from harness.data.texts import read_text, tokenize_articles
from harness.export.decoder_onnx import export_decoder_onnx
from harness.measure.clock import TimingSpec
from harness.measure.decoder_timing import DecoderTimingSpec, time_decoder
from harness.measure.perplexity import PerplexitySpec, perplexity
from harness.models.gguf_convert import convert_gguf
from harness.runtimes.base import RuntimeSpec
from harness.runtimes.ort_causal_lm import OrtCausalLM
from harness.runtimes.torch_causal_lm import TorchCausalLM

THREADS = 1
PROMPT_TOKENS = 128
TIMING = DecoderTimingSpec(
    new_tokens=16,
    timing=TimingSpec(warmup_iters=2, min_iters=5, min_seconds=1.0, max_seconds=20.0),
)


def _timing_record(timing: Any) -> dict[str, Any]:
    record = dataclasses.asdict(timing)
    record.update(prefill_ms=timing.prefill_ms, decode_tokens_per_s=timing.decode_tokens_per_s)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--windows", type=int, default=4, help="512-token windows for PyTorch")
    parser.add_argument("--ort-windows", type=int, default=1, help="windows for the ORT check")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(THREADS)
    record: dict[str, Any] = {"threads": THREADS, "load_average_start": os.getloadavg()}

    converted = convert_gguf("smollm2")
    record["conversion"] = {"reused": converted.reused, **converted.manifest}
    start = time.perf_counter()
    model = LlamaForCausalLM.from_pretrained(converted.path, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(converted.path)
    record["load_converted_s"] = round(time.perf_counter() - start, 2)

    stream = tokenize_articles(tokenizer, read_text("wikipedia"))
    torch_lm = TorchCausalLM(model)
    for name, windows in [("torch", args.windows), ("torch_ort_windows", args.ort_windows)]:
        start = time.perf_counter()
        result = perplexity(torch_lm.logits, stream, PerplexitySpec(max_windows=windows))
        record[f"perplexity_{name}"] = {
            **dataclasses.asdict(result),
            "s": time.perf_counter() - start,
        }

    with tempfile.TemporaryDirectory() as folder:
        exported = export_decoder_onnx(model, folder)
        record["export"] = {
            **dataclasses.asdict(exported),
            "prefill_path": None,
            "decode_path": None,
        }
        ort_lm = OrtCausalLM(
            exported.prefill_path, exported.decode_path, RuntimeSpec("onnxruntime", threads=THREADS)
        )
        spec = PerplexitySpec(max_windows=args.ort_windows)
        record["perplexity_onnxruntime"] = dataclasses.asdict(
            perplexity(ort_lm.logits, stream, spec)
        )
        prompt = stream[None, :PROMPT_TOKENS]
        for name, lm in [("torch", torch_lm), ("onnxruntime", ort_lm)]:
            record[f"timing_{name}"] = _timing_record(time_decoder(lm, prompt, TIMING))
    record["greedy_tokens_equal"] = (
        record["timing_torch"]["greedy_tokens"] == record["timing_onnxruntime"]["greedy_tokens"]
    )
    record["greedy_text"] = tokenizer.decode(record["timing_torch"]["greedy_tokens"][0])
    record["load_average_end"] = os.getloadavg()
    text = json.dumps(record, indent=2, default=str)
    args.out.write_text(text + "\n", encoding="utf-8")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
