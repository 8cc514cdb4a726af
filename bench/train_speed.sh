#!/usr/bin/env bash
# Training speed on the CPU: native-trainer (burn-flex) against the same step in PyTorch
# (bench/promptir_torch.py, checked against the promptir-tiny fixture first), for two steps:
# the OSN campaign's (tiny network, batch 8 x 48², runs/osn/command.sh) and small at 8 x 64².
# Runs alternate, RUNS times each; prints every run, the medians, their ratio, the achieved
# GFLOP/s (a step is a forward pass and a backward pass of twice its work: 3x the forward FLOPs),
# the measured f32 peak of the machine (bench/matmul_peak.py), and native-trainer's CPU time
# over wall time (2.0 on 2 cores is every core busy).
#   bash bench/train_speed.sh            # RUNS=3 STEPS=20 (the tiny network runs 3x STEPS)
#   ONLY="tiny:8:32 tiny:16:64" bash bench/train_speed.sh
#   BEFORE=/path/to/older/native-trainer bash bench/train_speed.sh   # also times that build
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${MIRL_SHARED:-../shared}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mirl-target}"
RUNS=${RUNS:-3} STEPS=${STEPS:-20}
ONLY=${ONLY:-"tiny:8:48 small:8:64"}
DATA="$SHARED/data/train/cbsd432"
[ -d "$DATA" ] || { echo "missing training photos: $DATA (set MIRL_SHARED)" >&2; exit 1; }
python3 -c 'import torch, safetensors' 2>/dev/null || pip install torch safetensors numpy
python3 bench/promptir_torch.py "$SHARED"
# The release build, as training runs use: the dev profile keeps debug assertions and
# overflow checks, which cost a third of a step at 64².
cargo build --release -p native-trainer
BIN=$CARGO_TARGET_DIR/release/native-trainer
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
# A few photos, so that loading them is a small part of each timed process.
mkdir "$TMP/photos"
for f in $(ls "$DATA" | head -n 24); do ln -s "$(cd "$DATA" && pwd)/$f" "$TMP/photos/$f"; done
PEAK=$(python3 bench/matmul_peak.py)
echo "peak: $PEAK"

for case in $ONLY; do
  IFS=: read -r net batch crop <<<"$case"
  preset=$([ "$net" = tiny ] && echo quick || echo small)
  steps=$STEPS; [ "$net" = tiny ] && steps=$((STEPS * 3))
  echo "== $net network, batch $batch x ${crop}², $steps steps a run"
  rust=() torch=() busy=() before=()
  # Steps/s of one native-trainer run; its CPU time / wall time in $TMP/busy.
  native() {
    out="$TMP/$net-$batch-$crop-$i-$2"
    /usr/bin/time -f "%e %U %S" -o "$TMP/time" "$1" train --data "$TMP/photos" --out "$out" \
      --recipe "$preset" --rounds 0 --steps-per-round "$steps" --batch "$batch" --crop "$crop" \
      --val-images 1 --val-crop 32 --val-tasks noise:25 2>/dev/null
    awk '{printf "%.2f", ($2 + $3) / $1}' "$TMP/time" > "$TMP/busy"
    python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['rounds'][0]; print(r['steps']/r['seconds'])" "$out/report.json"
  }
  for i in $(seq "$RUNS"); do
    if [ -n "${BEFORE:-}" ]; then
      before+=("$(native "$BEFORE" before)")
      echo "run $i: BEFORE ${before[-1]} steps/s (CPU time / wall time $(cat "$TMP/busy"))"
    fi
    r=$(native "$BIN" now) b=$(cat "$TMP/busy")
    t=$(cd bench && python3 train_step_torch.py --network "$net" --steps "$steps" --batch "$batch" --crop "$crop" |
        python3 -c "import json,sys; print(json.load(sys.stdin)['steps_per_s'])")
    echo "run $i: native-trainer $r steps/s (CPU time / wall time $b), PyTorch $t steps/s"
    rust+=("$r") torch+=("$t") busy+=("$b")
  done
  out="$TMP/$net-$batch-$crop-1-now"
  gmac=$("$BIN" inspect "$out/round-00.mirl" | sed -n 's/^compute *\([0-9.]*\) GMAC per megapixel/\1/p')
  python3 - "${rust[*]}" "${torch[*]}" "${busy[*]}" "$net" "$batch" "$crop" "$gmac" "$PEAK" "${before[*]}" <<'PY'
import json, statistics, sys
rust, torch, busy = ([float(v) for v in a.split()] for a in sys.argv[1:4])
net, batch, crop, gmac = sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
peak = json.loads(sys.argv[8])["gflops"]
before = [float(v) for v in sys.argv[9].split()]
r, t = statistics.median(rust), statistics.median(torch)
# GMAC per megapixel = kMAC per pixel; a step: 3 x forward, 2 FLOPs a MAC.
gflop_step = 3 * 2 * gmac * 1e3 * batch * crop * crop / 1e9
print(f"{net} network, batch {batch} x {crop}x{crop}, CPU: median native-trainer {r:.3f} steps/s, "
      f"PyTorch {t:.3f} steps/s, ratio {r / t:.2f}; {gflop_step:.2f} GFLOP a step: "
      f"native-trainer {r * gflop_step:.1f} GFLOP/s, PyTorch {t * gflop_step:.1f} GFLOP/s, "
      f"peak {peak:.0f} GFLOP/s; native-trainer CPU time / wall time {statistics.median(busy):.2f}")
if before:
    b = statistics.median(before)
    print(f"  BEFORE: median {b:.3f} steps/s, ratio to PyTorch {b / t:.2f}; now {r / b:.2f}x BEFORE")
PY
done
