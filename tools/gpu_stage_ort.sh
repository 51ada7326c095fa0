#!/usr/bin/env bash
# Stage onnxruntime-gpu for a GPU machine without network that receives at most 64 MiB per
# transfer: download the wheel (Python 3.12, x86-64 Linux; here, where a package index is
# reachable), re-compress its files as one .tar.xz (CUDA kernels: far fewer bytes than the wheel's
# deflate) and split it into .gpu/p1 .. .gpu/pN (ignored by git), each under 64 MiB with NAME and
# SHA256 beside it. Carry one .gpu/pK per transfer; tools/gpu_run.sh reassembles, checks the
# sha256 and every file against the wheel's RECORD, and installs it with pip --target.
#
#   tools/gpu_stage_ort.sh [VERSION]     (default 1.31.1; ORT_GPU_WHEEL=path skips the download)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VERSION=${1:-1.31.1}
PY=${PYTHON:-python3}
grep -qxF '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >>.git/info/exclude
mkdir -p .gpu/dl
WHEEL=${ORT_GPU_WHEEL:-}
if [ -z "$WHEEL" ]; then
  if ! ls .gpu/dl/onnxruntime_gpu-"$VERSION"-*.whl >/dev/null 2>&1; then
    "$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d .gpu/dl "onnxruntime-gpu==$VERSION"
  fi
  WHEEL=$(ls .gpu/dl/onnxruntime_gpu-"$VERSION"-*.whl | head -n 1)
fi
rm -rf .gpu/p[0-9]*
"$PY" tools/gpu_wheel.py stage "$WHEEL" .gpu
echo "carry .gpu/p1 .. .gpu/p$(ls -d .gpu/p[0-9]* | wc -l), one per transfer; then run" \
  "tools/gpu_run.sh quick OUTDIR on the GPU machine"
