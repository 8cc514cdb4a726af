#!/usr/bin/env bash
# Training speed of the small preset on the CPU: native-trainer (burn-flex) against the same
# step in PyTorch (bench/promptir_torch.py, checked against the promptir-tiny fixture first).
# Runs alternate, RUNS times each; prints every run, the medians and their ratio.
#   bash bench/train_speed.sh            # RUNS=3 STEPS=20 BATCH=8 CROP=64
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${MIRL_SHARED:-../shared}
RUNS=${RUNS:-3} STEPS=${STEPS:-20} BATCH=${BATCH:-8} CROP=${CROP:-64}
DATA="$SHARED/data/train/cbsd432"
[ -d "$DATA" ] || { echo "missing training photos: $DATA (set MIRL_SHARED)" >&2; exit 1; }
python3 -c 'import torch, safetensors' 2>/dev/null || pip install torch safetensors numpy
python3 bench/promptir_torch.py "$SHARED"
# The dev profile compiles burn and every other dependency at opt-level 3 (Cargo.toml), so it
# measures the same kernels as --release without a second cold build of burn.
cargo build -p native-trainer
BIN=${CARGO_TARGET_DIR:-target}/debug/native-trainer
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
rust=() torch=()
for i in $(seq "$RUNS"); do
  "$BIN" train --data "$DATA" --out "$TMP/run$i" --preset small --rounds 0 \
    --steps-per-round "$STEPS" --batch "$BATCH" --crop "$CROP" \
    --val-images 1 --val-crop 32 --val-tasks noise:25 2>/dev/null
  r=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['rounds'][0]; print(r['steps']/r['seconds'])" "$TMP/run$i/report.json")
  t=$(cd bench && python3 train_step_torch.py --steps "$STEPS" --batch "$BATCH" --crop "$CROP" | python3 -c "import json,sys; print(json.load(sys.stdin)['steps_per_s'])")
  echo "run $i: native-trainer $r steps/s, PyTorch $t steps/s"
  rust+=("$r") torch+=("$t")
done
python3 - "${rust[*]}" "${torch[*]}" "$BATCH" "$CROP" <<'PY'
import statistics, sys
rust = [float(v) for v in sys.argv[1].split()]
torch = [float(v) for v in sys.argv[2].split()]
r, t = statistics.median(rust), statistics.median(torch)
print(f"small preset, batch {sys.argv[3]} x {sys.argv[4]}x{sys.argv[4]}, CPU: median native-trainer {r:.3f} steps/s, PyTorch {t:.3f} steps/s, ratio {r/t:.2f}")
PY
