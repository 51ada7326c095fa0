"""ONNX Runtime causal-LM runtime over the exported prefill and decode-with-cache graphs
(`harness.export.decoder_onnx`): `present.*` outputs are fed back as `past.*` inputs.

Sessions come from `ort_session.create_session` (explicit provider, fallback is an error).
Imports onnxruntime lazily (through `ort_session`); never imports torch.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from harness.export.decoder_graphs import LOGITS
from harness.runtimes.base import RuntimeSpec
from harness.runtimes.causal_lm import DecodeStart
from harness.runtimes.ort_session import create_session

log = logging.getLogger(__name__)


def _greedy(logits: np.ndarray) -> np.ndarray:
    return np.asarray(logits[:, -1:].argmax(axis=-1), dtype=np.int64)  # [batch, 1]


class OrtCausalLM:
    """`harness.runtimes.causal_lm.CausalLM` over two ONNX Runtime sessions."""

    def __init__(self, prefill_path: Path, decode_path: Path, spec: RuntimeSpec) -> None:
        self.spec = spec
        self.prefill: Any = create_session(prefill_path, spec)
        self.decoder: Any = create_session(decode_path, spec)
        inputs = self.decoder.get_inputs()
        self.past_names = [i.name for i in inputs if i.name.startswith("past.")]
        # kv heads and head dim are fixed in the graph: [batch, kv_heads, past_sequence, head_dim]
        self.kv_dims = {
            n.name: (int(n.shape[1]), int(n.shape[3])) for n in inputs if n.name in self.past_names
        }
        self.output_names = [o.name for o in self.decoder.get_outputs()]

    @property
    def name(self) -> str:
        return self.spec.name

    def logits(self, token_ids: np.ndarray) -> np.ndarray:
        ids = np.ascontiguousarray(token_ids, dtype=np.int64)
        return np.asarray(self.prefill.run([LOGITS], {"input_ids": ids})[0])

    def _step(
        self, ids: np.ndarray, first_position: int, past: list[np.ndarray]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        batch, new = ids.shape
        positions = np.arange(first_position, first_position + new, dtype=np.int64)
        feed = {"input_ids": ids, "position_ids": np.tile(positions, (batch, 1))}
        feed.update(zip(self.past_names, past, strict=True))
        logits, *present = self.decoder.run(self.output_names, feed)
        return _greedy(logits), present

    def start(self, prompt_ids: np.ndarray) -> DecodeStart:
        ids = np.ascontiguousarray(prompt_ids, dtype=np.int64)
        batch = ids.shape[0]
        empty = [
            np.zeros((batch, heads, 0, dim), dtype=np.float32)
            for heads, dim in (self.kv_dims[n] for n in self.past_names)
        ]
        first, present = self._step(ids, 0, empty)
        return DecodeStart(present, int(ids.shape[1]), first)

    def decode(self, start: DecodeStart, new_tokens: int) -> np.ndarray:
        token, past = start.first_token, start.cache  # never written to: ORT returns new arrays
        produced = []
        for step in range(new_tokens):
            token, past = self._step(token, start.prompt_tokens + step, past)
            produced.append(token)
        return np.concatenate(produced, axis=1)

    def sync(self) -> None:
        """Nothing to wait for: `session.run` returns host arrays."""
