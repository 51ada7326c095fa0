#!/usr/bin/env bash
# Issue #16: bad inputs and faults run through the kprune-bench CLI (python -m harness), each
# judged on: exit code, message names the problem, message names the way out, traceback shown,
# anything lost. Writes logs to $W/logs and the table to ${TABLE:-/tmp/issue16_table.md}.
#
#   bash tools/fault_table.sh            # all cases (about 20-30 min on a 2-core machine)
#   CASES="C01 C10" bash tools/fault_table.sh   # only these
# Mount-based cases (tiny / read-only filesystem) need root; they are skipped otherwise.
set -u
REPO=${REPO:-$(cd "$(dirname "$0")/.." && pwd)}
PY=${PY:-python}
W=${W:-/tmp/i16faults}
TABLE=${TABLE:-/tmp/issue16_table.md}
LOG=$W/logs
CASES=${CASES:-}
for m in "$W"/mnt*; do umount -l "$m" 2>/dev/null; done
if [ -z "$CASES" ]; then rm -rf "$W"; fi   # CASES=...: rerun those cases, keep the other logs
mkdir -p "$LOG"
cd "$W" || exit 1
export PYTHONDONTWRITEBYTECODE=1
unset KPRUNE_BENCH_CACHE

KB=("$PY" -m harness -q --no-progress)
TORCH='runtimes=[{backend="torch",threads=1}]'
SMOKE=(sweep smoke --no-plots --set "$TORCH")

main() {
want() { [ -z "$CASES" ] || [[ " $CASES " == *" $1 "* ]]; }

# run ID CMD... : rc, stdout, stderr into $LOG/ID.*
run() {
  local id=$1; shift
  "$@" >"$LOG/$id.out" 2>"$LOG/$id.err"
  echo $? >"$LOG/$id.rc"
}
lost() { echo "$2" >"$LOG/$1.lost"; }   # "no", "YES: ...", or "n/a"

# points FOLDER: sorted method@ratio of every point in every results file under FOLDER
points() {
  "$PY" - "$1" <<'EOF'
import json, sys, pathlib
keys = []
for p in sorted(pathlib.Path(sys.argv[1]).rglob("[0-9][0-9][0-9][0-9]_*.json")):
    try:
        doc = json.loads(p.read_text())
    except Exception:
        keys.append(f"UNREADABLE:{p.name}"); continue
    keys += [f"{x['method']}@{x['target_flops_ratio']}" for x in doc.get("points", [])]
print(",".join(keys))
EOF
}
nfiles() { find "$1" -name '[0-9][0-9][0-9][0-9]_*.json' 2>/dev/null | wc -l; }
# kept BEFORE AFTER: every point of BEFORE is in AFTER
kept() {
  "$PY" -c "import sys; b=set(filter(None,sys.argv[1].split(','))); a=set(filter(None,sys.argv[2].split(','))); print('no' if b<=a else 'YES: lost '+','.join(sorted(b-a)))" "$1" "$2"
}
no_results_left() { [ "$(nfiles "$1")" = 0 ] && echo "no (nothing written)" || echo "YES: results file left: $(find "$1" -name '*.json')"; }
wait_points() {  # FOLDER N PID: wait until a results file holds N points (or the pid ends)
  for _ in $(seq 1 3000); do
    local n; n=$(points "$1" | tr ',' '\n' | grep -c .)
    [ "$n" -ge "$2" ] && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# ---------- fixtures ----------
for c in $CASES; do rm -rf "$LOG/$c".* "$W/r${c#C}" "$W/p${c#C}"; done
[ -d "$W/bert" ] || "$PY" - "$W" <<'EOF' 2>/dev/null
import json, sys, shutil
from pathlib import Path
from transformers import (BertConfig, BertForSequenceClassification, GPT2Config,
    GPT2ForSequenceClassification, T5Config, T5ForSequenceClassification)
w = Path(sys.argv[1])
def bert(folder, **kw):
    cfg = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
               intermediate_size=64, max_position_embeddings=64, num_labels=2)
    BertForSequenceClassification(BertConfig(**{**cfg, **kw})).save_pretrained(w / folder)
    return w / folder
bert("bert")
bert("bert_short", max_position_embeddings=24)
bert("bert_3labels", num_labels=3)
GPT2ForSequenceClassification(GPT2Config(vocab_size=128, n_positions=32, n_embd=16, n_layer=1,
    n_head=2)).save_pretrained(w / "gpt2")
T5ForSequenceClassification(T5Config(vocab_size=128, d_model=16, d_kv=4, d_ff=32, num_layers=1,
    num_heads=2)).save_pretrained(w / "t5")
t = bert("trunc"); f = t / "model.safetensors"; f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
b = bert("badtype"); c = json.loads((b / "config.json").read_text())
c["num_attention_heads"] = "4"; (b / "config.json").write_text(json.dumps(c))
n = bert("notjson"); (n / "config.json").write_text("{ not json")
e = bert("noweights"); (e / "model.safetensors").unlink()
for name, enc, text in [("sst2_ok", "utf-8", "a fine film"), ("sst2_latin1", "latin-1", "un film très réussi")]:
    d = w / name; d.mkdir()
    rows = "sentence\tlabel\n" + "".join(f"{text} {i}\t{i % 2}\n" for i in range(8))
    for f in ("train.tsv", "dev.tsv"): (d / f).write_bytes(rows.encode(enc))
d = w / "sst2_nolabel"; d.mkdir()
for f in ("train.tsv", "dev.tsv"): (d / f).write_text("sentence\n" + "a film\n" * 4)
q = w / "squad_bad"; q.mkdir()
for f in ("train-v1.1.json", "dev-v1.1.json"): (q / f).write_text('{"data": [{"title": 1}]}')
(w / "bad.toml").write_text('name = "x"\nflops_ratios = [1.0, 0.5\n')
(w / "cache-file").write_text("a file, not a folder")
EOF
local_model() { echo "--set" "model.source='local'" "--set" "model.path='$W/$1'"; }

# ---------- config and command line ----------
want C01 && { run C01 "${KB[@]}" sweep nope --out r01; lost C01 "$(no_results_left r01)"; }
want C02 && { run C02 "${KB[@]}" sweep smoke --out r02 --set timing.min_itres=5; lost C02 "$(no_results_left r02)"; }
want C03 && { run C03 "${KB[@]}" sweep smoke --out r03 --set timing.min_iters=x; lost C03 "$(no_results_left r03)"; }
want C04 && { run C04 "${KB[@]}" sweep smoke --out r04 --set 'flops_ratios=[1.0,2.0]'; lost C04 "$(no_results_left r04)"; }
want C05 && { run C05 "${KB[@]}" sweep "$W/bad.toml" --out r05; lost C05 "$(no_results_left r05)"; }
want C06 && { run C06 "${KB[@]}" sweep smoke --out r06 --set "name='$(printf 'n%.0s' $(seq 1 300))'"; lost C06 "$(no_results_left r06)"; }
want C07 && { run C07 "${KB[@]}" sweep smoke --dry-run --resume --out r07; lost C07 "n/a"; }
# ---------- models ----------
want C08 && { run C08 "${KB[@]}" "${SMOKE[@]}" --out r08 $(local_model nowhere); lost C08 "$(no_results_left r08)"; }
want C09 && { run C09 "${KB[@]}" "${SMOKE[@]}" --out r09 $(local_model gpt2); lost C09 "$(no_results_left r09)"; }
want C10 && { run C10 "${KB[@]}" "${SMOKE[@]}" --out r10 $(local_model t5); lost C10 "$(no_results_left r10)"; }
want C11 && { run C11 "${KB[@]}" "${SMOKE[@]}" --out r11 $(local_model trunc); lost C11 "$(no_results_left r11)"; }
want C12 && { run C12 "${KB[@]}" "${SMOKE[@]}" --out r12 $(local_model badtype); lost C12 "$(no_results_left r12)"; }
want C13 && { run C13 "${KB[@]}" "${SMOKE[@]}" --out r13 $(local_model notjson); lost C13 "$(no_results_left r13)"; }
want C14 && { run C14 "${KB[@]}" "${SMOKE[@]}" --out r14 $(local_model noweights); lost C14 "$(no_results_left r14)"; }
want C15 && { run C15 "${KB[@]}" "${SMOKE[@]}" --out r15 $(local_model bert) --set "task.name='sst2'" --set "task.data_dir='$W/sst2_ok'"; lost C15 "$(no_results_left r15)"; }
want C16 && { run C16 "${KB[@]}" "${SMOKE[@]}" --out r16 $(local_model bert_3labels); lost C16 "$(no_results_left r16)"; }
# ---------- task data ----------
want C17 && { run C17 "${KB[@]}" "${SMOKE[@]}" --out r17 --set "task.name='sst2'" --set "task.data_dir='$W/sst2_latin1'"; lost C17 "$(no_results_left r17)"; }
want C18 && { run C18 "${KB[@]}" "${SMOKE[@]}" --out r18 --set "task.name='sst2'" --set "task.data_dir='$W/no-such-folder'"; lost C18 "$(no_results_left r18)"; }
want C19 && { run C19 "${KB[@]}" "${SMOKE[@]}" --out r19 --set "task.name='sst2'" --set "task.data_dir='$W/sst2_nolabel'"; lost C19 "$(no_results_left r19)"; }
want C20 && { run C20 "${KB[@]}" "${SMOKE[@]}" --out r20 --set "task.name='squad'" --set "task.data_dir='$W/squad_bad'"; lost C20 "$(no_results_left r20)"; }
# ---------- devices and lengths ----------
want C21 && { run C21 "${KB[@]}" sweep smoke --no-plots --out r21 --set 'runtimes=[{backend="torch",device="cuda"}]'; lost C21 "$(no_results_left r21)"; }
want C22 && { run C22 "${KB[@]}" "${SMOKE[@]}" --out r22 --set "task.device='cuda'"; lost C22 "$(no_results_left r22)"; }
want C23 && { run C23 "${KB[@]}" sweep smoke --dry-run --out r23 --set 'runtimes=[{backend="onnxruntime",device="cuda"}]'; lost C23 "n/a"; }
want C24 && { run C24 "${KB[@]}" "${SMOKE[@]}" --out r24 --set 'seq_lens=[1024]'; lost C24 "$(no_results_left r24)"; }
want C25 && { run C25 "${KB[@]}" "${SMOKE[@]}" --out r25 $(local_model bert_short); lost C25 "$(no_results_left r25)"; }
# ---------- folders ----------
want C26 && { echo file >r26; run C26 "${KB[@]}" "${SMOKE[@]}" --out r26/results; lost C26 "n/a"; }
want C27 && { mkdir -p r27; KPRUNE_BENCH_CACHE=$W/cache-file run C27 "${KB[@]}" sweep default --no-plots --out r27; lost C27 "$(no_results_left r27)"; }
if [ "$(id -u)" = 0 ] && mkdir -p "$W/mnt" && mount -t tmpfs -o size=1m tmpfs "$W/mnt" 2>/dev/null; then
  want C28 && { run C28 "${KB[@]}" "${SMOKE[@]}" --out "$W/mnt/results"; lost C28 "$(no_results_left "$W/mnt")"; }
  umount -l "$W/mnt"
  if want C46; then  # a read-only filesystem from the start
    mkdir -p "$W/mnt46" && mount -t tmpfs -o size=200m tmpfs "$W/mnt46" && mount -o remount,ro "$W/mnt46"
    run C46 "${KB[@]}" "${SMOKE[@]}" --out "$W/mnt46/results"; lost C46 "$(no_results_left "$W/mnt46")"
    umount -l "$W/mnt46"
  fi
  want C29 && { mkdir -p r29 && chattr +i r29 && run C29 "${KB[@]}" "${SMOKE[@]}" --out r29/results; chattr -i r29; lost C29 "n/a"; }
  # ---------- faults in the middle of a sweep (a real filesystem) ----------
  if want C30; then
    mkdir -p "$W/mnt30" && mount -t tmpfs -o size=160m tmpfs "$W/mnt30"
    "${KB[@]}" "${SMOKE[@]}" --out "$W/mnt30/results" >"$LOG/C30.out" 2>"$LOG/C30.err" & pid=$!
    wait_points "$W/mnt30/results" 1 $pid && dd if=/dev/zero of="$W/mnt30/fill" bs=1M 2>/dev/null
    wait $pid; echo $? >"$LOG/C30.rc"
    before=$(points "$W/mnt30/results"); rm -f "$W/mnt30/fill"
    "${KB[@]}" "${SMOKE[@]}" --out "$W/mnt30/results" --resume >"$LOG/C30.resume.out" 2>"$LOG/C30.resume.err"; rrc=$?
    after=$(points "$W/mnt30/results")
    lost C30 "$(kept "$before" "$after") (stored: $before; after --resume, rc $rrc: $after)"
    umount -l "$W/mnt30"
  fi
  if want C31; then  # the results folder made read-only (immutable) after the first point
    # (a read-only remount is refused while the sweep holds files open for writing)
    "${KB[@]}" "${SMOKE[@]}" --out r31 >"$LOG/C31.out" 2>"$LOG/C31.err" & pid=$!
    wait_points r31 1 $pid && chattr +i r31/m-*
    wait $pid; echo $? >"$LOG/C31.rc"
    before=$(points r31); chattr -i r31/m-*
    "${KB[@]}" "${SMOKE[@]}" --out r31 --resume >"$LOG/C31.resume.out" 2>"$LOG/C31.resume.err"; rrc=$?
    after=$(points r31)
    lost C31 "$(kept "$before" "$after") (stored: $before; after --resume, rc $rrc: $after)"
  fi
else
  echo "not root or no mount: C28-C31 skipped" >&2
fi
if want C32; then  # SIGTERM after the first point
  "${KB[@]}" "${SMOKE[@]}" --out r32 >"$LOG/C32.out" 2>"$LOG/C32.err" & pid=$!
  wait_points r32 1 $pid && kill -TERM $pid
  wait $pid; echo $? >"$LOG/C32.rc"; before=$(points r32)
  "${KB[@]}" "${SMOKE[@]}" --out r32 --resume >/dev/null 2>"$LOG/C32.resume.err"; after=$(points r32)
  lost C32 "$(kept "$before" "$after") (stored: $before; after --resume: $after)"
fi
if want C33; then  # SIGKILL after the first point; then --resume
  "${KB[@]}" "${SMOKE[@]}" --out r33 >"$LOG/C33.out" 2>"$LOG/C33.err" & pid=$!
  wait_points r33 1 $pid && kill -KILL $pid
  wait $pid; echo $? >"$LOG/C33.rc"; before=$(points r33)
  run C33.resume "${KB[@]}" "${SMOKE[@]}" --out r33 --resume; after=$(points r33)
  tmp=$(find r33 -name '*.tmp' | wc -l)
  lost C33 "$(kept "$before" "$after") (stored: $before; after --resume rc $(cat "$LOG/C33.resume.rc"): $after; stray .tmp: $tmp)"
fi
if want C34; then  # two --resume of one file at once (each point times for 20 s)
  SLOW=(--set timing.max_iters=10000000 --set timing.min_seconds=20 --set timing.max_seconds=20)
  "${KB[@]}" "${SMOKE[@]}" "${SLOW[@]}" --out r34 --set 'flops_ratios=[1.0]' >/dev/null 2>&1
  "${KB[@]}" "${SMOKE[@]}" "${SLOW[@]}" --out r34 --resume >"$LOG/C34.first.out" 2>"$LOG/C34.first.err" & pid=$!
  for _ in $(seq 1 3000); do compgen -G "r34/*/.*.lock" >/dev/null && break; sleep 0.1; done
  run C34 "${KB[@]}" "${SMOKE[@]}" "${SLOW[@]}" --out r34 --resume
  wait $pid; first=$?
  echo "first writer pid $pid rc $first" >>"$LOG/C34.err.note"
  after=$(points r34)
  n=$(echo "$after" | tr ',' '\n' | grep -c .)
  [ "$n" = 3 ] && lost C34 "no (first writer rc $first, pid $pid; file holds $after)" || lost C34 "YES: $after"
fi
if want C35; then  # --resume with another thread count
  "${KB[@]}" "${SMOKE[@]}" --out r35 --set 'flops_ratios=[1.0]' >/dev/null 2>&1
  before=$(md5sum r35/*/*.json)
  run C35 "${KB[@]}" sweep smoke --no-plots --out r35 --resume --set 'runtimes=[{backend="torch",threads=2}]'
  [ "$before" = "$(md5sum r35/*/*.json)" ] && lost C35 "no (file unchanged)" || lost C35 "YES: file rewritten"
fi
if want C36; then  # --resume with another timing setting
  "${KB[@]}" "${SMOKE[@]}" --out r36 --set 'flops_ratios=[1.0]' >/dev/null 2>&1
  before=$(md5sum r36/*/*.json)
  run C36 "${KB[@]}" "${SMOKE[@]}" --out r36 --resume --set timing.min_iters=7
  [ "$before" = "$(md5sum r36/*/*.json)" ] && lost C36 "no (file unchanged)" || lost C36 "YES: file rewritten"
fi
if want C37; then  # a tiny ratio under --keep-going (both backends)
  run C37 "${KB[@]}" sweep smoke --no-plots --out r37 --keep-going --set 'flops_ratios=[1.0,0.001]'
  lost C37 "$( [ "$(points r37)" = "dense@1.0,kprune@0.001" ] && echo "no ($(points r37))" || echo "YES: $(points r37)")"
fi
if want C38; then  # a failed start (label mismatch) after a partial run, then --resume
  "${KB[@]}" "${SMOKE[@]}" --out r38 --set 'flops_ratios=[1.0]' >/dev/null 2>&1
  before=$(points r38)
  "${KB[@]}" "${SMOKE[@]}" --out r38 $(local_model bert_3labels) >/dev/null 2>&1
  run C38 "${KB[@]}" "${SMOKE[@]}" --out r38 --resume
  after=$(points r38)
  lost C38 "$(kept "$before" "$after") ($(nfiles r38) results file(s); after --resume: $after)"
fi
if want C39; then  # a corrupt results file as the latest one to resume
  "${KB[@]}" "${SMOKE[@]}" --out r39 --set 'flops_ratios=[1.0]' >/dev/null 2>&1
  f=$(ls r39/*/*.json); echo '{ truncated' >"${f%0001_*}0002_x_smoke.json"
  run C39 "${KB[@]}" "${SMOKE[@]}" --out r39 --resume
  lost C39 "$( [ "$(points r39)" = "dense@1.0,UNREADABLE:0002_x_smoke.json" ] && echo no || echo "YES: $(points r39)")"
fi
if want C40; then  # keep-going with failing trials (timing children killed at once): recorded, exit 1
  run C40 "${KB[@]}" "${SMOKE[@]}" --out r40 --keep-going --set isolate_backends=true --set isolated_timeout_s=0.01
  lost C40 "n/a"
fi
# ---------- reports on bad files ----------
want C41 && { mkdir -p r41; echo '{ not json' >r41/0001_x_a.json; run C41 "${KB[@]}" compare r41/0001_x_a.json r41/0001_x_a.json; lost C41 "n/a"; }
want C42 && { run C42 "${KB[@]}" compare no/a.json no/b.json; lost C42 "n/a"; }
if want C43; then  # plot a folder: one good run, one corrupt file, one hand-edited field
  "${KB[@]}" "${SMOKE[@]}" --out r43 --set 'flops_ratios=[1.0,0.5]' >/dev/null 2>&1
  good=$(ls r43/*/*.json); d=$(dirname "$good")
  echo '{ not json' >"$d/0002_x_broken.json"
  "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); d['measurements'][0]['samples_ms']='oops'; d['measurements'][0]['latency']=[1]; json.dump(d,open(sys.argv[2],'w'))" "$good" "$d/0003_x_edited.json"
  run C43 "${KB[@]}" plot r43 --out p43
  lost C43 "$(ls p43 2>/dev/null | wc -l) figure files written"
fi
want C44 && { run C44 "${KB[@]}" plot no/such/folder --out p44; lost C44 "n/a"; }
want C45 && { run C45 "${KB[@]}" compare r43/*/0001_*.json r41/0001_x_a.json; lost C45 "n/a"; }

# ---------- the table ----------
"$PY" - "$LOG" "$TABLE" <<'EOF'
import re, sys
from pathlib import Path
log, table = Path(sys.argv[1]), Path(sys.argv[2])
# id: (what, ideal exit code, problem regex, way-out regex)
SPEC = {
 "C01": ("unknown preset", 2, r"unknown preset 'nope'", r"presets: .*\.toml"),
 "C02": ("unknown config key (typo)", 2, r"unknown key 'timing.min_itres'", r"allowed keys"),
 "C03": ("value of the wrong type", 2, r"timing.min_iters", r"expected int"),
 "C04": ("ratio outside (0, 1]", 2, r"2.0 is outside \(0, 1\]", r"0.6 keeps 60%"),
 "C05": ("TOML syntax error", 2, r"bad.toml: not valid TOML", r"fix the TOML syntax"),
 "C06": ("config name of 300 characters", 2, r"name 'n+' must match", r"use 1-100 letters"),
 "C07": ("--resume with --dry-run", 2, r"--resume and --dry-run", r"do not go together"),
 "C08": ("missing model folder", 2, r"nowhere' does not exist", r"set model.path"),
 "C09": ("GPT-2 local checkpoint", 2, r"GPT2ForSequenceClassification, which is not supported", r"supported encoder \(Bert"),
 "C10": ("T5 local checkpoint", 2, r"T5ForSequenceClassification, which is not supported", r"supported encoder \(Bert"),
 "C11": ("truncated model.safetensors", 2, r"model.safetensors is damaged", r"copy it again or re-save"),
 "C12": ("config.json: num_attention_heads is a string", 2, r"config.json cannot be read.*num_attention_heads", r"fix the file or re-save"),
 "C13": ("config.json is not JSON", 2, r"config.json cannot be read", r"fix the file or re-save"),
 "C14": ("checkpoint without weight files", 2, r"has no weight files", r"re-save the model"),
 "C15": ("model without tokenizer, task without one", 2, r"ships no tokenizer", r"add the tokenizer files"),
 "C16": ("3-label head for a 2-label task", 2, r"3-output head but 2 labels", r"use a checkpoint fine-tuned on this task"),
 "C17": ("non-UTF-8 (latin-1) TSV", 2, r"train.tsv is not UTF-8", r"re-save it as UTF-8"),
 "C18": ("GLUE data folder missing", 2, r"GLUE file not found: .*train.tsv", r"set task.data_dir"),
 "C19": ("TSV without the label column", 2, r"header lacks column 'label'", r"add it, or point task.data_dir"),
 "C20": ("SQuAD JSON of the wrong shape", 2, r"not SQuAD-format JSON", r"expected SQuAD v1.1/v2.0 files"),
 "C21": ("torch CUDA runtime on a CPU machine", 2, r"need CUDA, but torch .* sees no CUDA", r"run on a CUDA machine"),
 "C22": ("task.device = cuda on a CPU machine", 2, r"task.device need CUDA", r"task.device='cpu'"),
 "C23": ("ORT CUDA runtime, --dry-run, CPU machine", 2, r"need CUDA", r"run on a CUDA machine"),
 "C24": ("seq_lens 1024 > 512 positions", 2, r"seq_lens asks for 1024 tokens but the model has 512", r"--set seq_lens=\.\.\."),
 "C25": ("task.max_length 32 > a 24-position model", 2, r"task.max_length asks for 32 tokens but the model has 24", r"--set task.max_length"),
 "C26": ("--out below a file", 2, r"is not a folder|is a file", r"choose another folder or move the file"),
 "C27": ("KPRUNE_BENCH_CACHE is a file", 2, r"cache-file' is a file", r"choose another folder or move the file"),
 "C28": ("results on a 1 MiB filesystem", 2, r"only 1\.0 MiB free", r"free space or choose another folder"),
 "C29": ("--out inside an immutable (read-only) folder", 2, r"not writable \((Operation not permitted|Permission denied)", r"choose a writable folder"),
 "C46": ("--out on a read-only filesystem", 2, r"not writable \(Read-only file system\)", r"choose a writable folder"),
 "C30": ("disk full mid-sweep (real tmpfs filled)", 2, r"No space left on device", r"free space on that filesystem, then rerun the same command with --resume"),
 "C31": ("results folder made read-only (chattr +i) mid-sweep", 2, r"cannot write .*: Operation not permitted", r"make that folder writable.*--resume"),
 "C32": ("SIGTERM mid-sweep", 1, r"stopped by SIGTERM", r"--resume to continue"),
 "C33": ("SIGKILL mid-sweep, then --resume", None, r".", r"."),
 "C34": ("two --resume of one file at once", 2, r"being written by another sweep \(pid \d+\)", r"then rerun with --resume"),
 "C35": ("--resume with threads 1 -> 2", 2, r"runtimes\[torch-cpu-float32-eager\].threads \(1 -> 2\)", r"resume with the stored settings, or run without --resume"),
 "C36": ("--resume with timing.min_iters changed", 2, r"timing.min_iters \(5 -> 7\)", r"run without --resume"),
 "C37": ("ratio 0.001 with --keep-going", 0, r".", r"."),
 "C38": ("failed start, then --resume", 0, r".", r"."),
 "C39": ("--resume when the latest file is corrupt", 2, r"0002_x_smoke.json: is not valid JSON", r"Move the file out of the results folder"),
 "C40": ("timing children killed (timeout) under --keep-going", 1, r"timing child ran past", r"raise isolated_timeout_s"),
 "C41": ("compare a corrupt results file", 2, r"0001_x_a.json: is not valid JSON", r"Move the file out"),
 "C42": ("compare missing files", 2, r"does not exist", r"."),
 "C43": ("plot a folder with a corrupt and a hand-edited file", 0, r"0002_x_broken.json", r"Move the file out|skipp"),
 "C44": ("plot a missing folder", 2, r"does not exist|no readable results", r"."),
 "C45": ("compare a good run with a corrupt one", 2, r"0001_x_a.json: is not valid JSON", r"Move the file out"),
}
NOTES = """
Notes
- Produced by `bash tools/fault_table.sh` (as root on a 2-core CPU machine without CUDA; C28-C31 and
  C46 mount tmpfs / use chattr). Logs: /tmp/i16faults/logs/<id>.err. "names problem" and "way out"
  are regexes over stderr (the SPEC in the script); "lost?" compares the points stored before a fault
  with those after `--resume`, or checks that a refused start left no results file.
- C33: exit 137 is the SIGKILL itself; judged on the `--resume` that follows (exit 0, no point lost,
  no stray .tmp).
- C37, C38: valid runs (exit 0); there is no problem to name.
- C40 (not ideal): `harness/sweep/timing.py` logs a timing group's failure under --keep-going with
  `log.exception` (a traceback) although the error is typed (IsolatedTimingError); it was left
  alone because another engineer is rewriting timing.py. The rows are recorded and the run exits 1.
- C41-C45 exercise the report commands another engineer is rewriting; recorded as observed.
"""
rows, ideal = [], 0
for cid, (what, want_rc, problem, way) in SPEC.items():
    rc_file = log / f"{cid}.rc"
    if not rc_file.exists():
        continue
    rc = int(rc_file.read_text())
    err = (log / f"{cid}.err").read_text(errors="replace")
    text = " ".join(err.split())
    trace = "Traceback" in err
    names = bool(re.search(problem, text))
    out = bool(re.search(way, text))
    lost = (log / f"{cid}.lost").read_text().strip() if (log / f"{cid}.lost").exists() else "?"
    if cid == "C33":  # SIGKILL: the kill's own rc (137/-9); judged on the resume
        rc2 = int((log / "C33.resume.rc").read_text())
        ok = rc2 == 0 and lost.startswith("no")
        names = out = ok
        rc_text = f"{rc} (killed); resume {rc2}"
    elif want_rc == 0 and problem == ".":  # a valid run: there is no problem to name
        ok = rc == 0 and not trace and not lost.startswith("YES")
        names = out = None
        rc_text = str(rc)
    else:
        ok = rc == want_rc and names and out and not trace and not lost.startswith("YES")
        rc_text = str(rc)
    ideal += ok
    last = [l for l in err.strip().splitlines() if "kprune-bench" in l or "WARNING" in l or "ERROR" in l]
    message = (last[-1] if last else (err.strip().splitlines() or [""])[-1])[:220].replace("|", "\\|")
    rows.append(f"| {cid} | {what} | {rc_text} | {'n/a' if names is None else 'yes' if names else 'NO'} | {'n/a' if out is None else 'yes' if out else 'NO'} | {'YES' if trace else 'no'} | {lost.replace('|', '/')[:160]} | {'ideal' if ok else 'NOT ideal'} | {message} |")
head = ("| id | bad input / fault | exit | names problem | way out | traceback | lost? | outcome | message (last line) |\n"
        "|---|---|---|---|---|---|---|---|---|")
table.write_text(f"# Issue 16: bad inputs and faults through the CLI\n\n{ideal} of {len(rows)} cases have the ideal outcome "
                 "(expected exit code — 2 for user errors, 1 for SIGTERM/a recorded failure, 0 for valid runs —, the problem and "
                 "the way out named, no traceback, nothing lost).\n\n" + head + "\n" + "\n".join(rows) + "\n" + NOTES)
print(f"{ideal} of {len(rows)} ideal; table in {table}")
EOF
}
main "$@"
