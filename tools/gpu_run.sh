#!/usr/bin/env bash
# The device check in one command, on a GPU machine with a CUDA build of torch and no network,
# from the repository root, without installing the project (PYTHONPATH):
#
#   tools/gpu_run.sh [--dry-run] quick|full OUTDIR
#
#   1. install onnxruntime-gpu from the wheel parts carried in .gpu/p1 .. .gpu/pN
#      (tools/gpu_stage_ort.sh made them; sha256-checked; pip --target) and put the NVIDIA
#      libraries torch brings on the library path;
#   2. probe versions, providers and ORT's node placement; stop with one "STOP:" line when
#      CUDA or ORT's CUDA provider is not active;
#   3. pytest -m gpu;
#   4. the sweeps: quick = the committed default run's structures replayed at kept 1.0/0.5/0.3,
#      then a BERT-base-shaped model, every GPU runtime, batch 1 and 32 (at most 4 minutes);
#      full = the gpu-replay preset (all ratios, batch 1/8/32/128) with --resume: what does not
#      fit one session continues in the next (RESUME_FROM=<its results .json>);
#   5. OUTDIR holds at most 3 files at any time: summary.md (rewritten after every step and every
#      30 s while a step runs, so a timeout still returns it), results.tar.gz (results files with
#      raw samples and fingerprints, the probe, every step's log) and console.log.
#
# --dry-run prints every step and command and exits 0 (no CUDA needed); the tests run it.
# Environment: KPRUNE_GPU_WORK (default /tmp/kprune-gpu), KPRUNE_GPU_PARTS (default .gpu),
# KPRUNE_GPU_BUDGET_S (the whole script; default 420 for quick, 560 for full: the device allows
# 600 s per command), PYTHON (default python3).
set -euo pipefail

usage() {
  echo "usage: tools/gpu_run.sh [--dry-run] quick|full OUTDIR" >&2
  exit 2
}
DRY=0
ARGS=()
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY=1 ;;
    -h | --help) usage ;;
    -*) echo "gpu_run.sh: unknown option $arg" >&2 && usage ;;
    *) ARGS+=("$arg") ;;
  esac
done
[ "${#ARGS[@]}" -eq 2 ] || usage
MODE=${ARGS[0]}
OUT=${ARGS[1]}
case "$MODE" in
  quick) DEFAULT_BUDGET_S=420 ;;
  full) DEFAULT_BUDGET_S=560 ;;
  *) echo "gpu_run.sh: the mode is quick or full, not '$MODE'" >&2 && usage ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=${PYTHON:-python3}
WORK=${KPRUNE_GPU_WORK:-/tmp/kprune-gpu}
PARTS=${KPRUNE_GPU_PARTS:-.gpu}
BUDGET_S=${KPRUNE_GPU_BUDGET_S:-$DEFAULT_BUDGET_S}
START_S=$(date +%s)
CONSOLE="$WORK/console.log"

# Every GPU runtime: torch eager and CUDA graph, ORT IO binding and CUDA graph, fp32 and fp16.
RUNTIMES='runtimes=['
for spec in torch:eager onnxruntime:iobinding torch:cuda_graph onnxruntime:cuda_graph; do
  for dtype in float32 float16; do
    RUNTIMES+="{backend=\"${spec%%:*}\",device=\"cuda\",dtype=\"$dtype\",variant=\"${spec##*:}\"},"
  done
done
RUNTIMES="${RUNTIMES%,}]"
QUICK=(--set 'flops_ratios=[1.0,0.5,0.3]' --set 'batch_sizes=[1,32]' --set 'seq_lens=[128]'
  --set timing.warmup_iters=5 --set timing.min_iters=30 --set timing.min_seconds=0.25
  --set timing.max_seconds=2.0)
SWEEP=(-m harness -q --no-progress sweep --out "$WORK/results" --artifacts "$WORK/artifacts"
  --no-plots --keep-going)

left_s() { echo $((BUDGET_S - ($(date +%s) - START_S))); }

budget() { # at most $1 seconds, and what is left of the budget less $2 s for what follows
  local cap=$1 left
  left=$(($(left_s) - $2))
  [ "$left" -lt "$cap" ] && cap=$left
  [ "$cap" -lt 1 ] && cap=1
  echo "$cap"
}

log() {
  local line="[gpu_run $(($(date +%s) - START_S))s] $*"
  if [ "$DRY" -eq 1 ]; then echo "$line"; else echo "$line" | tee -a "$CONSOLE"; fi
}

_pack() {
  "$PY" tools/gpu_report.py summary "$WORK" "$MODE" >>"$CONSOLE" 2>&1 || echo "summary failed" >>"$CONSOLE"
  if [ -f "$WORK/summary.md" ]; then
    cp "$WORK/summary.md" "$OUT/.summary.md" && mv "$OUT/.summary.md" "$OUT/summary.md"
  fi
  tar -czf "$OUT/.results.tar.gz" -C "$WORK" results logs steps.log probe.json 2>/dev/null || true
  [ -s "$OUT/.results.tar.gz" ] && mv "$OUT/.results.tar.gz" "$OUT/results.tar.gz"
  tail -c 2000000 "$CONSOLE" >"$OUT/.console.log" && mv "$OUT/.console.log" "$OUT/console.log"
}

pack() { # summary.md, results.tar.gz and console.log into OUT, one packer at a time
  [ "$DRY" -eq 1 ] && return 0
  if ! command -v flock >/dev/null; then
    _pack
    return 0
  fi
  (
    flock 9
    _pack
  ) 9>"$WORK/pack.lock"
}

# step NAME LIMIT_S COMMAND...: run (dry: print) one step under a time limit; its output goes to
# logs/NAME.log, its status and seconds to steps.log. Returns the command's exit code.
step() {
  local name=$1 limit=$2
  shift 2
  if [ "$DRY" -eq 1 ]; then
    echo "[dry-run] $name (at most ${limit}s): $*"
    return 0
  fi
  local t0 rc=0 status=ok
  t0=$(date +%s)
  log "$name (at most ${limit}s): $*"
  timeout --signal=TERM --kill-after=10 "$limit" "$@" >"$WORK/logs/$name.log" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] && status="exit $rc"
  [ "$rc" -eq 124 ] && status="timed out after ${limit}s"
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$(($(date +%s) - t0))" "$*" >>"$WORK/steps.log"
  tail -n 15 "$WORK/logs/$name.log" >>"$CONSOLE"
  log "$name: $status"
  pack
  return "$rc"
}

stop() { # one clear line, the summary packed, exit 3
  echo "STOP: $*"
  if [ "$DRY" -eq 0 ]; then
    echo "STOP: $*" >>"$CONSOLE"
    printf 'stop\tstopped\t\t%s\n' "$*" >>"$WORK/steps.log"
    pack
  fi
  exit 3
}

install_ort() {
  local parts name sha archive wheel
  parts=$(ls -1 "$PARTS"/p*/part.* 2>/dev/null | sort -V || true)
  if [ -z "$parts" ]; then
    if [ "$DRY" -eq 1 ]; then
      echo "[dry-run] install: no wheel parts in $PARTS/p*/, so an installed onnxruntime-gpu"
      return 0
    fi
    "$PY" -c "import onnxruntime as o, sys; sys.exit('CUDAExecutionProvider' not in o.get_available_providers())" ||
      stop "no onnxruntime-gpu here: stage it with tools/gpu_stage_ort.sh and carry $PARTS/p1 .. pN"
    log "no wheel parts; using the installed onnxruntime-gpu"
    return 0
  fi
  name=$(cat "$PARTS/p1/NAME")
  sha=$(cat "$PARTS/p1/SHA256")
  archive="$WORK/$name"
  if [ "$DRY" -eq 1 ]; then
    echo "[dry-run] install: cat $(echo "$parts" | wc -l) parts > $archive, sha256 $sha," \
      "pip install --no-index --no-deps --target $WORK/ortgpu"
    return 0
  fi
  if [ -f "$WORK/ortgpu/.installed" ] && [ "$(cat "$WORK/ortgpu/.installed")" = "$sha" ]; then
    log "onnxruntime-gpu from $name is installed in $WORK/ortgpu already"
    return 0
  fi
  # shellcheck disable=SC2086  # the part paths have no spaces (tools/gpu_stage_ort.sh names them)
  cat $parts >"$archive"
  echo "$sha  $archive" | sha256sum -c --quiet - ||
    stop "the sha256 of $archive is not the one in $PARTS/p1/SHA256: a part is missing or damaged"
  wheel=$archive
  if [[ "$name" == *.tar.xz ]]; then
    wheel=$("$PY" tools/gpu_wheel.py rebuild "$archive" "$WORK/wheel") ||
      stop "cannot rebuild the wheel from $archive (see console.log)"
  fi
  rm -rf "$WORK/ortgpu"
  "$PY" -m pip install -q --no-index --no-deps --target "$WORK/ortgpu" "$wheel" >>"$CONSOLE" 2>&1 ||
    stop "pip could not install $wheel into $WORK/ortgpu (see console.log)"
  echo "$sha" >"$WORK/ortgpu/.installed"
  rm -rf "$archive" "$WORK/wheel"
  log "installed $(basename "$wheel") into $WORK/ortgpu"
}

library_path() { # the NVIDIA wheels torch brings (nvidia/*/lib, nvidia/*/*/lib) and torch/lib
  "$PY" - <<'EOF' 2>/dev/null || true
import importlib.util, pathlib
dirs = []
spec = importlib.util.find_spec("nvidia")
for root in (spec.submodule_search_locations if spec else None) or []:
    for pattern in ("*/lib", "*/*/lib"):
        dirs += sorted(str(p) for p in pathlib.Path(root).glob(pattern) if p.is_dir())
torch = importlib.util.find_spec("torch")
if torch and torch.origin:
    dirs.append(str(pathlib.Path(torch.origin).parent / "lib"))
print(":".join(dict.fromkeys(dirs)))
EOF
}

plan() { # the sweep's plan: config and overrides checked, no device touched
  if [ "$DRY" -eq 1 ]; then
    "$PY" tools/gpu_report.py plan "$@" | sed 's/^/[dry-run]   /'
  else
    "$PY" tools/gpu_report.py plan "$@" >>"$CONSOLE" 2>&1
  fi
}

resume_from() { # a previous session's results file, put where --resume looks for it
  [ -n "${RESUME_FROM:-}" ] || return 0
  [ -f "$RESUME_FROM" ] || stop "RESUME_FROM=$RESUME_FROM is not a file"
  if [ "$DRY" -eq 1 ]; then
    echo "[dry-run] resume: copy $RESUME_FROM into $WORK/results/<this machine's id>/"
    return 0
  fi
  local machine
  machine=$("$PY" tools/gpu_report.py machine-id)
  mkdir -p "$WORK/results/$machine"
  cp "$RESUME_FROM" "$WORK/results/$machine/"
  log "resuming from $RESUME_FROM"
}

run_sweeps() {
  local replay=(gpu-replay --set "$RUNTIMES")
  if [ "$MODE" = full ]; then
    plan "${replay[@]}"
    resume_from
    step sweep-full "$(budget 100000 20)" "$PY" "${SWEEP[@]}" "${replay[@]}" --resume || true
    return 0
  fi
  local quick=("${replay[@]}" --set name=gpu-quick-replay "${QUICK[@]}")
  local base=(bert-base-shape --set name=gpu-quick-bert-base-shape --set "$RUNTIMES" "${QUICK[@]}"
    --set "kprune.device='cuda'"
    --set "description='LATENCY ONLY - RANDOM WEIGHTS, BERT-base shape pruned on CUDA'")
  plan "${quick[@]}"
  plan "${base[@]}"
  step sweep-replay "$(budget 130 20)" "$PY" "${SWEEP[@]}" "${quick[@]}" || true
  if [ "$DRY" -eq 1 ] || [ "$(left_s)" -gt 60 ]; then
    step sweep-bert-base-shape "$(budget 110 20)" "$PY" "${SWEEP[@]}" "${base[@]}" || true
  else
    log "skipped the BERT-base-shape sweep: $(left_s) s of the budget left"
  fi
}

prepare_env() { # onnxruntime-gpu installed, the CUDA libraries and the project importable
  install_ort
  local libs
  libs=$(library_path)
  export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export PYTHONPATH="$WORK/ortgpu:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
  export PYTHONUNBUFFERED=1 # step logs up to the moment a time limit stops a step
  [ "$DRY" -eq 0 ] || echo "[dry-run] PYTHONPATH=$PYTHONPATH LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
}

checks() {
  local rc=0
  step probe 120 "$PY" tools/gpu_probe.py "$WORK/probe.json" || rc=$?
  if [ "$rc" -ne 0 ]; then
    stop "$(grep -h '^STOP:' "$WORK/logs/probe.log" | tail -n 1 | cut -c7-) (probe exit $rc)"
  fi
  step pytest-gpu "$(budget 90 270)" "$PY" -m pytest -q -p no:cacheprovider -m gpu || true
  run_sweeps
}

if [ "$DRY" -eq 1 ]; then
  echo "[dry-run] tools/gpu_run.sh $MODE $OUT (work: $WORK, budget ${BUDGET_S}s)"
  prepare_env
  checks
  echo "[dry-run] pack into $OUT: summary.md, results.tar.gz, console.log"
  exit 0
fi
mkdir -p "$OUT" "$WORK/results" "$WORK/logs"
OUT=$(cd "$OUT" && pwd)
: >"$WORK/steps.log"
: >"$CONSOLE"
prepare_env
(while sleep 30; do pack; done) &
PACKER=$!
finish() {
  kill "$PACKER" 2>/dev/null || true
  wait "$PACKER" 2>/dev/null || true
  rm -f "$OUT/.summary.md" "$OUT/.results.tar.gz" "$OUT/.console.log"
}
trap finish EXIT
checks
finish
pack
log "done in $(($(date +%s) - START_S)) s; $OUT holds $(ls "$OUT" | wc -l) files"
