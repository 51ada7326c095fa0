"""Shared by the fault tests: the CLI in-process or as a child process, tiny checkpoints of
supported and unsupported architectures, and what a results folder holds afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.cli import main

ROOT = Path(__file__).resolve().parents[2]
TORCH_ONLY = 'runtimes=[{backend = "torch", threads = 1}]'
"""The smoke preset timed on torch only: every stage but ONNX, in a few seconds."""


def smoke_argv(out: Path, *extra: str, torch_only: bool = True) -> list[str]:
    """`sweep smoke` writing to `out` (artifacts beside it), quiet, without plots."""
    argv = ["-q", "--no-progress", "sweep", "smoke", "--out", str(out), "--no-plots"]
    return [*argv, *(["--set", TORCH_ONLY] if torch_only else []), *extra]


def run_main(argv: Sequence[str], capsys: Any) -> tuple[int, str]:
    """(exit code, stderr) of the CLI run in this process."""
    code = main(list(argv))
    return code, capsys.readouterr().err


def start_cli(argv: Sequence[str], cwd: Path, **env: str) -> subprocess.Popen[str]:
    """The CLI as a child process (`python -m harness`), stdout and stderr captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "harness", *argv],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], what: str) -> None:
    """Poll `condition` until it holds; fail (killing the child) if the child ends first."""
    deadline = time.monotonic() + 600
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"child ended (rc {process.returncode}) before {what}:\n{err}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[str], signal_number: int) -> str:
    """Send the signal, wait for the child and return its stderr (closing its pipes)."""
    process.send_signal(signal_number)
    _, err = process.communicate(timeout=600)
    return err or ""


def results_files(out: Path) -> list[Path]:
    return sorted(out.rglob("[0-9][0-9][0-9][0-9]_*.json"))


def stored_points(path: Path) -> list[str]:
    """`method@ratio` of every point stored in a results file (unreadable: none)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [f"{p['method']}@{p['target_flops_ratio']}" for p in doc.get("points", [])]


def has_points(out: Path, count: int) -> Callable[[], bool]:
    return lambda: any(len(stored_points(p)) >= count for p in results_files(out))


def save_bert(folder: Path, *, max_positions: int = 64, num_labels: int = 2) -> Path:
    """A tiny random BERT sequence classifier (no tokenizer files)."""
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=128,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=max_positions,
        num_labels=num_labels,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def save_gpt2(folder: Path) -> Path:
    from transformers import GPT2Config, GPT2ForSequenceClassification

    config = GPT2Config(vocab_size=128, n_positions=32, n_embd=16, n_layer=1, n_head=2)
    GPT2ForSequenceClassification(config).save_pretrained(folder)
    return folder


def save_t5(folder: Path) -> Path:
    from transformers import T5Config, T5ForSequenceClassification

    config = T5Config(vocab_size=128, d_model=16, d_kv=4, d_ff=32, num_layers=1, num_heads=2)
    T5ForSequenceClassification(config).save_pretrained(folder)
    return folder


def local_model(folder: Path) -> list[str]:
    return ["--set", "model.source='local'", "--set", f"model.path='{folder}'"]


def assert_clean_failure(code: int, err: str, *fragments: str, expected: int = 2) -> None:
    """The exit code, one message holding every fragment, and no traceback."""
    assert code == expected, err
    assert "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
