"""Time runtimes of one backend in a fresh Python process (interleaved inside it), so another
backend's idle thread pool cannot steal cores: ``python -m harness.measure.isolated JOB RESULT``.

The parent writes a JSON job and reads a JSON result with the child's pid, the threads each
runtime reported, and the error of each runtime that failed while the others were timed
(`measure.survivors`). The child loads only the backend it needs: no torch for ONNX Runtime on the
CPU; on CUDA, the same CUDA libraries as its parent (`ort_session.load_cuda_libraries`). It is
killed after `timeout_s`. Statistics are the caller's (`harness.measure.stats`).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from harness.errors import MeasuredFailure
from harness.export.io_names import dummy_batch
from harness.measure.clock import Timed, TimingResult, TimingSpec
from harness.measure.survivors import Failure, measure_survivors
from harness.runtimes.base import RuntimeSpec, load_child_artifact, load_runtime

log = logging.getLogger(__name__)

_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class IsolatedTimingError(MeasuredFailure):
    """The timing child process failed or ran out of time; carries its exit code and stderr."""


@dataclass(frozen=True)
class IsolatedJob:
    """One configuration for the child: runtime, artifact file, and the input shape."""

    spec: RuntimeSpec
    artifact: Path
    """What `spec.artifact` names, as a file: a .onnx graph, or a folder `save_module` wrote."""
    batch_size: int
    seq_len: int
    vocab_size: int
    input_names: tuple[str, ...]
    seed: int = 0
    pad_last_rows: int = 0


def _child_env(jobs: Sequence[IsolatedJob]) -> dict[str, str]:
    env = dict(os.environ)
    threads = {job.spec.threads for job in jobs}
    if len(threads) == 1 and None not in threads:
        env.update(dict.fromkeys(_THREAD_ENV, str(threads.pop())))
    return env


def _run_child(job_path: Path, result_path: Path, env: dict[str, str], timeout_s: float) -> None:
    command = [sys.executable, "-m", "harness.measure.isolated", str(job_path), str(result_path)]
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise IsolatedTimingError(
            f"timing child ran past {timeout_s:g} s and was killed; raise "
            "isolated_timeout_s or time fewer trials per group"
        ) from error
    if done.returncode != 0 or not result_path.exists():
        raise IsolatedTimingError(
            f"timing child exited with {done.returncode}; stderr tail:\n{done.stderr[-2000:]}"
        )


def measure_isolated(
    jobs: Mapping[str, IsolatedJob],
    spec: TimingSpec,
    *,
    timeout_s: float,
    stop_on_error: bool = True,
) -> dict[str, TimingResult | Failure]:
    """Time ``jobs`` (one backend) interleaved in a fresh process; results by job name. With
    `stop_on_error` off, a job that fails is returned as its `Failure` and the others are timed."""
    backends = {job.spec.backend for job in jobs.values()}
    if len(backends) != 1:
        raise ValueError(f"one backend per timing process, got {sorted(backends)}")
    document = {
        "timing": asdict(spec),
        "stop_on_error": stop_on_error,
        "jobs": {
            name: {**asdict(job), "artifact": str(job.artifact)} for name, job in jobs.items()
        },
    }
    with tempfile.TemporaryDirectory(prefix="kprune-timing-") as tmp:
        job_path, result_path = Path(tmp, "job.json"), Path(tmp, "result.json")
        job_path.write_text(json.dumps(document), encoding="utf-8")
        _run_child(job_path, result_path, _child_env(list(jobs.values())), timeout_s)
        results = json.loads(result_path.read_text(encoding="utf-8"))
    return {name: _result_from_json(results[name]) for name in jobs}


def _result_from_json(data: Mapping[str, Any]) -> TimingResult | Failure:
    if "error" in data:
        return Failure(data["error"])
    return TimingResult(
        tuple(data["samples_s"]),
        data["first_call_s"],
        data["warmup_s"],
        threads=data.get("threads"),
        pid=data.get("pid"),
    )


def _job_from_json(data: Mapping[str, Any]) -> IsolatedJob:
    spec = RuntimeSpec(**data["spec"])
    fields = {k: v for k, v in data.items() if k not in ("spec", "artifact", "input_names")}
    names = tuple(data["input_names"])
    return IsolatedJob(spec=spec, artifact=Path(data["artifact"]), input_names=names, **fields)


def _setup(job: IsolatedJob, threads: dict[str, int | None], name: str) -> Timed:
    runtime = load_runtime(job.spec, load_child_artifact(job.spec, str(job.artifact)))
    batch = dummy_batch(
        job.batch_size,
        job.seq_len,
        vocab_size=job.vocab_size,
        input_names=job.input_names,
        pad_last_rows=job.pad_last_rows,
        seed=job.seed,
    )
    threads[name] = runtime.threads
    return Timed(runtime.bind(batch), runtime.sync)


def _payload(result: TimingResult | Failure, threads: int | None) -> dict[str, Any]:
    if isinstance(result, Failure):
        return asdict(result)
    return {**asdict(result), "threads": threads, "pid": os.getpid()}


def run_job_file(job_path: Path, result_path: Path) -> None:
    """Child side: load every job's runtime, bind its inputs, time them interleaved, write JSON
    (a job that fails is written as its error unless the job file says stop_on_error)."""
    document = json.loads(job_path.read_text(encoding="utf-8"))
    threads: dict[str, int | None] = {}
    setups = {
        name: partial(_setup, _job_from_json(data), threads, name)
        for name, data in document["jobs"].items()
    }
    results = measure_survivors(
        setups, TimingSpec(**document["timing"]), stop_on_error=document["stop_on_error"]
    )
    payload = {name: _payload(result, threads.get(name)) for name, result in results.items()}
    result_path.write_text(json.dumps(payload), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        sys.stderr.write("usage: python -m harness.measure.isolated JOB.json RESULT.json\n")
        return 2
    logging.basicConfig(level=logging.WARNING)
    run_job_file(Path(args[0]), Path(args[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
