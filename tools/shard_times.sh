#!/usr/bin/env bash
# Issue 14 measurements on the smoke preset: one-shot sweep vs 3 shards run one after another +
# merge (wall time, CLI, fresh folders), and the Ray executor's start cost on this machine.
# Usage: bash tools/shard_times.sh [repeats]   (needs kprune-bench and ray installed)
set -euo pipefail
# run after: python -m pip install -e ".[ray]"
repeats=${1:-1}
work=$(mktemp -d /tmp/i14times.XXXX)
export HOME=$work/home  # Ray's files go under the temp folder
unset RAY_ADDRESS
mkdir -p "$HOME"
now() { date +%s.%N; }
span() { python -c "print(f'{$2 - $1:.1f}')"; }
q=(-q --no-progress)
for r in $(seq "$repeats"); do
  t0=$(now)
  kprune-bench "${q[@]}" sweep smoke --out "$work/one$r" --no-plots > /dev/null
  t1=$(now)
  for i in 0 1 2; do
    kprune-bench "${q[@]}" sweep smoke --shard "$i/3" --out "$work/shards$r" --no-plots > /dev/null
  done
  t2=$(now)
  kprune-bench "${q[@]}" merge "$work/shards$r" --out "$work/merged$r" > /dev/null
  t3=$(now)
  TMPDIR=$work kprune-bench "${q[@]}" sweep smoke --executor ray --out "$work/ray$r" --no-plots > /dev/null 2>&1
  t4=$(now)
  echo "repeat $r: one-shot $(span $t0 $t1) s; 3 shards $(span $t1 $t2) s + merge $(span $t2 $t3) s = $(span $t1 $t3) s; ray executor (starts its own local cluster) $(span $t3 $t4) s"
done
python - "$work" <<'PY'
import os, sys, tempfile, time
import ray
t0 = time.perf_counter()
ray.init(address="local", num_cpus=2, resources={"timing_slot": 1}, include_dashboard=False,
         _temp_dir=tempfile.mkdtemp(prefix="ray", dir="/tmp"), log_to_driver=False)
t1 = time.perf_counter()
@ray.remote(max_calls=1)
def pid() -> int:
    return os.getpid()
ray.get(pid.remote())
t2 = time.perf_counter()
ray.get(pid.remote())
t3 = time.perf_counter()
ray.shutdown()
t4 = time.perf_counter()
print(f"ray start: init {t1 - t0:.1f} s; first task (worker start) {t2 - t1:.2f} s; "
      f"a fresh-process task (max_calls=1) {t3 - t2:.2f} s; shutdown {t4 - t3:.1f} s")
PY
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); results under $work"
