#!/usr/bin/env bash
# Data-parallel training on this machine: steps a second of one process and of `mpirun -n 2`
# (each rank half of every batch, the cores shared between the ranks), on the OSN campaign's
# step (tiny network, batch 8 x 48²). Runs alternate, RUNS times each; prints every run, the
# medians, their ratio, and the bytes each rank sends a step (MPI's ring all-reduce sends
# 2 (N-1)/N times the gradients, f32).
#   RUNS=3 STEPS=60 bash bench/ranks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${MIRL_SHARED:-../shared}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mirl-target}"
RUNS=${RUNS:-3} STEPS=${STEPS:-60} BATCH=${BATCH:-8} CROP=${CROP:-48}
DATA="$SHARED/data/train/cbsd432"
cargo build --release -p native-trainer --features mpi
BIN=$CARGO_TARGET_DIR/release/native-trainer
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/photos"
for f in $(ls "$DATA" | head -n 24); do ln -s "$(cd "$DATA" && pwd)/$f" "$TMP/photos/$f"; done
steps_per_s() {
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['rounds'][0]; print(r['steps']/r['seconds'])" "$1/report.json"
}
train=(train --data "$TMP/photos" --recipe quick --rounds 0 --steps-per-round "$STEPS" --batch "$BATCH"
       --crop "$CROP" --val-images 1 --val-crop 32 --val-tasks noise:25 --workers 1)
one=() two=()
for i in $(seq "$RUNS"); do
  "$BIN" "${train[@]}" --out "$TMP/one-$i" 2>/dev/null
  mpirun --allow-run-as-root --oversubscribe -n 2 "$BIN" "${train[@]}" --out "$TMP/two-$i" 2>/dev/null
  one+=("$(steps_per_s "$TMP/one-$i")") two+=("$(steps_per_s "$TMP/two-$i")")
  echo "run $i: 1 process ${one[-1]} steps/s, 2 ranks ${two[-1]} steps/s"
done
params=$("$BIN" inspect --json "$TMP/one-1/round-00.mirl" | python3 -c "import json,sys; print(json.load(sys.stdin)['parameters'])")
python3 - "${one[*]}" "${two[*]}" "$params" <<'PY'
import statistics, sys
one, two = ([float(v) for v in a.split()] for a in sys.argv[1:3])
params = int(sys.argv[3])
a, b = statistics.median(one), statistics.median(two)
grad = 4 * params
print(f"median: 1 process {a:.3f} steps/s, 2 ranks {b:.3f} steps/s, ratio {b / a:.2f}; "
      f"gradients {grad / 1e6:.2f} MB a step ({params:,} parameters), each of 2 ranks sends "
      f"{grad / 1e6:.2f} MB a step ({2 * (2 - 1) / 2:.0f} x the gradients)")
PY
