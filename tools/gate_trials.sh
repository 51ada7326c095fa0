#!/usr/bin/env bash
# Issue 12: real-timing trials of `kprune-bench gate` on the bundled model (the `ci` preset:
# MiniLM-L6 fine-tuned on Rotten Tomatoes, kprune at 0.5 and 0.3, torch eager + ORT, batch 1,
# seq 64, 1 thread). Needs the fine-tuned model in the cache (`kprune-bench prepare ci`).
#
#   bash tools/gate_trials.sh            # N=10 runs per phase, work folder /tmp/issue12_trials
#   N=3 PHASES="same plant25" bash tools/gate_trials.sh
#
# Phases:
#   baseline  one fresh gate run (prune, export, evaluate, re-time); its gate_run.json is the baseline
#   fresh     M (default 2) fresh gate runs of the unchanged code against it: the whole pipeline
#             again (prune, export, evaluate, re-time) -> count FAIL (want 0); wall time per run
#   same      N gate runs re-timing the stored candidate of `fresh` run 1 (another sweep than the
#             baseline's, same code) against the baseline                 -> count FAIL (want 0)
#   plant25   N gate runs re-timing that candidate with a planted 25% slowdown of every pruned
#             model (KPRUNE_BENCH_GATE_PLANT_SLOWDOWN=0.25)               -> count FAIL (want >= 9)
#   plant5    the same with a planted 5% slowdown                           -> count FAIL (want 0)
#   untuned   one fresh gate run with Kprune's weight tuning off            -> accuracy FAIL (exit 1)
# A summary (exit code, verdict, counts, wall seconds per run) is printed and written to
# $W/summary.txt.
set -u
cd "$(dirname "$0")/.."
# needs: python -m pip install -e . && kprune-bench prepare ci
W=${W:-/tmp/issue12_trials}
N=${N:-10}
M=${M:-2}
PHASES=${PHASES:-"baseline fresh same plant25 plant5 untuned"}
mkdir -p "$W"
BASE="$W/baseline/gate_run.json"

gate() {  # gate NAME [env and flags...] : one gate run, its line in the summary
  local name=$1; shift
  local start end rc
  start=$(date +%s.%N)
  env "$@" > "$W/$name.log" 2>&1
  rc=$?
  end=$(date +%s.%N)
  local verdict counts
  verdict=$(python -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['verdict'], d['counts'])" "$W/$name/gate.json" 2>/dev/null || echo "no gate.json")
  printf "%-12s exit=%s wall_s=%6.1f load=%s %s\n" "$name" "$rc" "$(echo "$end - $start" | bc)" "$(cut -d' ' -f1 /proc/loadavg)" "$verdict" | tee -a "$W/summary.txt"
}

for phase in $PHASES; do
  case $phase in
    baseline)
      gate baseline kprune-bench --no-progress -q gate ci --out "$W/baseline" ;;
    fresh)
      for i in $(seq 1 "$M"); do
        gate "fresh_$i" kprune-bench --no-progress -q gate ci --baseline "$BASE" --out "$W/fresh_$i"
      done ;;
    same|plant25|plant5)
      ratio=$(case $phase in plant25) echo 0.25 ;; plant5) echo 0.05 ;; *) echo 0 ;; esac)
      cand=$(ls "$W"/fresh_1/candidate/bench_results/*/*.json | head -1)
      for i in $(seq 1 "$N"); do
        gate "${phase}_$i" KPRUNE_BENCH_GATE_PLANT_SLOWDOWN=$ratio kprune-bench --no-progress -q \
          gate ci --candidate "$cand" --baseline "$BASE" --out "$W/${phase}_$i"
      done ;;
    untuned)
      gate untuned kprune-bench --no-progress -q gate ci --set kprune.tune_weights=false \
        --baseline "$BASE" --out "$W/untuned" ;;
  esac
done

echo "--- counts (exit 1 = FAIL) ---" | tee -a "$W/summary.txt"
for phase in fresh same plant25 plant5; do
  total=$(grep -c "^${phase}_" "$W/summary.txt" || true)
  fails=$(grep "^${phase}_" "$W/summary.txt" | grep -c "exit=1" || true)
  echo "$phase: $fails FAIL of $total" | tee -a "$W/summary.txt"
done
